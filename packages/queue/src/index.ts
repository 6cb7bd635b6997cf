/** @integ/queue (work in progress). */
export const placeholder: true = true;
