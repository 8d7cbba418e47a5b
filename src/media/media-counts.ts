/**
 * Live media resources, counted from mediasoup's observer events.
 *
 * Why observers and not counters bumped by our own code: every router,
 * transport, producer and consumer announces itself on its parent's observer
 * (`newrouter`, `newtransport`, …) and announces its end with `close` however
 * it ends — closed by us, by its parent, or because its worker died. Counting
 * there means a leak shows up in `/v1/Node` and `/metrics` whoever made it,
 * and a count can never drift from what the workers really hold.
 */
import type { types as ms } from 'mediasoup';

export interface MediaCounts {
  workers: number;
  routers: number;
  transports: number;
  producers: number;
  consumers: number;
}

export const NO_MEDIA: Readonly<MediaCounts> = Object.freeze({ workers: 0, routers: 0, transports: 0, producers: 0, consumers: 0 });

export class MediaResourceTracker {
  private readonly workers = new Set<ms.Worker>();
  private readonly routers = new Set<ms.Router>();
  private readonly transports = new Set<ms.Transport>();
  private readonly producers = new Set<ms.Producer>();
  private readonly consumers = new Set<ms.Consumer>();

  /** Follows a worker and everything created under it until each one closes. */
  track(worker: ms.Worker): void {
    this.follow(this.workers, worker);
    worker.observer.on('newrouter', (router) => {
      this.follow(this.routers, router);
      router.observer.on('newtransport', (transport) => {
        this.follow(this.transports, transport);
        transport.observer.on('newproducer', (producer) => this.follow(this.producers, producer));
        transport.observer.on('newconsumer', (consumer) => this.follow(this.consumers, consumer));
      });
    });
  }

  counts(): MediaCounts {
    return {
      workers: this.workers.size,
      routers: this.routers.size,
      transports: this.transports.size,
      producers: this.producers.size,
      consumers: this.consumers.size,
    };
  }

  private follow<T extends { observer: { once(event: 'close', listener: () => void): unknown } }>(set: Set<T>, item: T): void {
    set.add(item);
    item.observer.once('close', () => set.delete(item));
  }
}
