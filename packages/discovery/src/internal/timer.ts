/**
 * The longest delay a timer keeps: a runtime fires one of more than 2^31 - 1 ms (~24.8 days) after about
 * 1 ms, which turns a long wait into a hot loop or a timeout into an instant failure (core's sleep() caps
 * there too, decision 0005).
 */
export const MAX_TIMER = 2_147_483_647;
