// Waiting for something to become true (a container back, an endpoint healthy),
// checked every pollMs until timeoutMs has passed; the last answer is returned.
export interface PollTiming {
  timeoutMs: number;
  pollMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function pollUntil<T>(check: () => Promise<T>, done: (value: T) => boolean, timing: PollTiming): Promise<T> {
  const deadline = Date.now() + timing.timeoutMs;
  let last = await check();
  while (!done(last) && Date.now() < deadline) {
    await sleep(timing.pollMs);
    last = await check();
  }
  return last;
}
