import { afterEach, describe, expect, it } from "vitest";
import { describeError, problemText } from "./errorText";
import { setLocale } from "./i18n/messages";
import { IpcError } from "./ipc";

afterEach(() => {
  setLocale("en");
});

const oned = '[one.vm.action] Error performing action "suspend": This action is not available for state POWEROFF';

describe("describeError", () => {
  it("words the kind and quotes oned's own message", () => {
    setLocale("en");
    const error = new IpcError("vm_action", "wrongState", "English", { oned, code: 2048 });
    expect(describeError(error)).toEqual({ kind: "Not possible in the VM’s current state", detail: oned, fromOned: true });
  });

  it("words the kind in Chinese and keeps oned's text verbatim", () => {
    setLocale("zh-CN");
    const error = new IpcError("vm_action", "authorization", "English", { oned });
    expect(describeError(error)).toEqual({ kind: "无权限：您的 OpenNebula 用户不能执行此操作", detail: oned, fromOned: true });
  });

  it("words an invalid input from its field and problem", () => {
    setLocale("en");
    const error = new IpcError("vm_create", "invalidInput", "English", { field: "SIZE", problem: "outOfRange", min: 1, max: 8 });
    expect(describeError(error).detail).toBe("SIZE: Enter a value from 1 to 8");
  });

  it("falls back to the shell's sentence under the worded kind", () => {
    setLocale("en");
    expect(describeError(new IpcError("x", "allocation", "No capacity."))).toEqual({
      kind: "OpenNebula could not allocate the VM",
      detail: "No capacity.",
      fromOned: false,
    });
    expect(describeError(new IpcError("x", "unknown", "")).detail).toBeNull();
  });
});

describe("problemText", () => {
  it("words every problem the validator and the shell send", () => {
    setLocale("en");
    expect(problemText({ problem: "required" })).toBe("Required");
    expect(problemText({ problem: "notANumber" })).toBe("Enter a number");
    expect(problemText({ problem: "notAnInteger" })).toBe("Enter a whole number");
    expect(problemText({ problem: "outOfRange", min: 2, max: null })).toBe("Enter 2 or more");
    expect(problemText({ problem: "outOfRange", min: null, max: 9 })).toBe("Enter 9 or less");
    expect(problemText({ problem: "notOffered", value: "huge" })).toBe("“huge” is not one of the choices");
    expect(problemText({ problem: "notBoolean" })).toBe("Choose yes or no");
    expect(problemText({ problem: "tooLong" })).toBe("Too long");
    expect(problemText({ problem: "somethingNew" })).toBe("Not a valid value");
  });
});
