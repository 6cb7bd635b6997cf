/** @integ/discovery (work in progress). */
export const placeholder: true = true;
