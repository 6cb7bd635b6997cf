/** @integ/retry (work in progress). */
export const placeholder: true = true;
