import { mount } from "svelte";
import "../app.css";
import ReplayView from "./ReplayView.svelte";

const target = document.getElementById("app");
if (!target) throw new Error("replay.html has no #app element");

export default mount(ReplayView, { target });
