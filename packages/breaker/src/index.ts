/** @integ/breaker (work in progress). */
export const placeholder: true = true;
