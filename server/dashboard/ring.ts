/** A bounded list that keeps the newest entries and counts every one ever added. */
export class Ring<T> {
  private items: T[] = [];
  private start = 0;
  /** Entries ever pushed: a reader remembers it to ask for what came since. */
  total = 0;

  constructor(readonly capacity: number) {}

  push(item: T): void {
    this.total++;
    if (this.items.length < this.capacity) this.items.push(item);
    else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** Everything held, oldest first. */
  all(): T[] {
    return this.start === 0 ? this.items.slice() : [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
  }

  /** What was pushed after the reader saw `total` reach `seen`, as much of it as is still held. */
  since(seen: number): T[] {
    const n = Math.min(this.total - seen, this.items.length);
    return n <= 0 ? [] : this.all().slice(-n);
  }
}
