/**
 * One interval timer for many members that each need a periodic duty (a gate
 * lease renewed, call records renewed, a call's peers probed): a member costs
 * a set entry, not a timer and its closure. Most calls end before their
 * first tick, and a per-call timer was created, linked, unlinked and carried
 * through the garbage collector for nothing.
 *
 * A member added just before a tick is ticked early; none waits longer than
 * `everyMs`. The timer runs, unref'd, only while there are members. `tick`
 * must not throw (each duty catches its own failures).
 */
export class Ticker<M> {
  private readonly members = new Set<M>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly everyMs: number,
    private readonly tick: (member: M) => void,
  ) {}

  add(member: M): void {
    this.members.add(member);
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      for (const m of this.members) this.tick(m);
    }, this.everyMs);
    this.timer.unref();
  }

  delete(member: M): void {
    this.members.delete(member);
    if (this.members.size > 0 || this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }
}
