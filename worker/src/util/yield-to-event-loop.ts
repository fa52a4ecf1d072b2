/**
 * Lets the event loop run (timers, sockets) between chunks of long synchronous TensorFlow.js work, so
 * that a worker busy evaluating still answers its peers' keepalive pings and heartbeats.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
