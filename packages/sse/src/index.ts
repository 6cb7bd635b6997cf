/** @integ/sse (work in progress). */
export const placeholder: true = true;
