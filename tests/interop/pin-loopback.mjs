// Preloaded with NODE_OPTIONS="--import <absolute path of this file>": every TCP listener binds
// 127.0.0.1 only (server-everything listens on all interfaces and has no host option).
import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const done = typeof args.at(-1) === "function" ? [args.pop()] : [];
  const [first, , backlog] = args;
  const isObject = first !== null && typeof first === "object";
  const isPipeOrHandle = isObject ? "path" in first || "fd" in first || "handle" in first || "_handle" in first : typeof first === "string" && Number.isNaN(Number(first));
  if (isPipeOrHandle) return listen.call(this, ...args, ...done);
  const options = isObject ? first : { port: first ?? 0, ...(typeof backlog === "number" ? { backlog } : {}) };
  return listen.call(this, { ...options, host: "127.0.0.1" }, ...done);
};
