/**
 * Live alert markers (issue 18, ADR 226): a stream that shows charts of some devices gets
 * those devices' markers (where their alerts fired and resolved, storage/alerts.ts
 * alertMarkersForDevices) when it opens and again whenever the control worker records a
 * transition of one of them — the alert-marker doorbell heard on the live hub's LISTEN
 * connection. Each delivery is the whole list since the page's window start (at most
 * MAX_ALERT_MARKERS, the newest), so a missed or repeated doorbell costs nothing but a read.
 */
import type { Knex } from 'knex';
import { alertMarkersForDevices, type AlertMarker } from '../../../storage/alerts';
import type { LiveHub } from './live-hub.server';

/** A stream's interest in markers. */
export interface AlertMarkerSubscription {
  /** Device names (as alert instances name them, ADR 158). */
  devices: string[];
  /** Oldest marker time (ms): the page's window start. */
  from: number;
  /** Send the devices' markers; false when the stream is gone. */
  deliver(markers: AlertMarker[]): boolean;
}

/** Subscribe a stream to its devices' markers (the current ones are sent at once). Returns stop(). */
export async function subscribeAlertMarkers(hub: LiveHub, db: Knex, sub: AlertMarkerSubscription): Promise<{ stop: () => void }> {
  const mine = new Set(sub.devices);
  let stopped = false;
  let reading = false;
  let again = false;
  const read = async (): Promise<void> => {
    if (stopped) return;
    if (reading) {
      again = true; // a doorbell rang during the read: read once more after it
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        const markers = await alertMarkersForDevices(db, [...mine], sub.from, Date.now() + 60_000);
        if (stopped || !sub.deliver(markers)) return stop();
      } while (again && !stopped);
    } catch {
      // The database did not answer: the next doorbell (or the page's own revalidation) brings them.
    } finally {
      reading = false;
    }
  };
  const stopListening = await hub.onAlertMarkers((devices) => {
    if (devices === '*' || devices.some((d) => mine.has(d))) void read();
  });
  const stop = () => {
    stopped = true;
    stopListening();
  };
  await read();
  return { stop };
}
