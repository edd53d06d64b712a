import { mount } from "svelte";
import "../app.css";
import ConsoleView from "./ConsoleView.svelte";

const target = document.getElementById("app");
if (!target) throw new Error("console.html has no #app element");

export default mount(ConsoleView, { target });
