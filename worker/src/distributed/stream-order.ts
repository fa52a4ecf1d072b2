/**
 * Frames from one peer back in the sender's order when they travel on several connections (JCL_TCP_STREAMS):
 * frame i was sent on stream i % streams, so the next frame is always due on the stream after the last
 * one delivered; frames that arrive ahead of their turn wait here.
 */
export class StreamOrder<T> {
  private next = 0;
  private readonly held: T[][];

  constructor(private readonly streams: number) {
    this.held = Array.from({ length: streams }, () => []);
  }

  /** Takes a frame that arrived on `stream`; hands every frame now in order to `deliver`. */
  accept(stream: number, frame: T, deliver: (frame: T) => void): void {
    if (stream !== this.next) {
      this.held[stream].push(frame);
      return;
    }
    deliver(frame);
    this.next = (this.next + 1) % this.streams;
    for (let f = this.held[this.next].shift(); f !== undefined; f = this.held[this.next].shift()) {
      deliver(f);
      this.next = (this.next + 1) % this.streams;
    }
  }
}
