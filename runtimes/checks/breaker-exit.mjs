// An open breaker with onStateChange holds a timer for its open period (60 s here): the process must still exit at
// once, not when the breaker moves to half-open.
import { createBreaker } from '@integ/breaker';

const b = createBreaker({
  failureThreshold: 1,
  openFor: 60_000,
  onStateChange: (to, from) => console.log(`${from}>${to}`),
});
await b.execute(() => Promise.reject(new Error('down'))).catch(() => {});
console.log('state', b.state, '- script done; the process should exit now, not in 60 s');
