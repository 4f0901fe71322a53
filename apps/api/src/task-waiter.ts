import type { RedisClient } from '@orchex/queue';

/**
 * Lets many `?wait=N` requests wait for task completion through ONE Redis subscription: workers publish the id
 * of each task that reaches a terminal state, and the waiter wakes whoever waits for that id.
 */
export class TaskWaiter {
  private readonly waiting = new Map<string, Set<() => void>>();

  constructor(
    private readonly subscriber: RedisClient,
    channel: string,
  ) {
    void subscriber.subscribe(channel);
    subscriber.on('message', (_channel: string, taskId: string) => {
      const set = this.waiting.get(taskId);
      if (!set) return;
      this.waiting.delete(taskId);
      for (const wake of set) wake();
    });
  }

  /**
   * Resolves when the task is announced or after `ms`, whichever is first. Register BEFORE re-reading the task,
   * so an announcement between the read and the wait is not missed.
   */
  wait(taskId: string, ms: number): { done: Promise<void>; cancel: () => void } {
    let wake!: () => void;
    const done = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const timer = setTimeout(() => cancel(), ms);
    const set = this.waiting.get(taskId) ?? new Set();
    set.add(wake);
    this.waiting.set(taskId, set);
    const cancel = () => {
      clearTimeout(timer);
      set.delete(wake);
      if (set.size === 0 && this.waiting.get(taskId) === set) this.waiting.delete(taskId);
      wake();
    };
    void done.then(() => clearTimeout(timer));
    return { done, cancel };
  }

  async close(): Promise<void> {
    for (const set of this.waiting.values()) for (const wake of set) wake();
    this.waiting.clear();
    this.subscriber.disconnect();
  }
}
