//! How long a claimant pauses before asking the queue again after a failed
//! claim. Both claimants, the [`Worker`](super::worker::Worker) loop and the
//! agent orchestrator's dispatch loop, must back off the same way when the
//! backend is down (quickly at first, so a blip costs little; then slower,
//! so an outage is not hammered), so the rule lives here once.

use std::time::Duration;

/// A delay that doubles with every failure in a row, up to a cap, and
/// starts over once the queue answers again.
///
/// [`Backoff::after_failed_claim`] is the claimants' rule: 50 ms after the
/// first failed claim, then 100 ms, 200 ms, … at most 5 s. The same doubling
/// paces the polling of
/// [`QueueExt::wait_until_final`](super::QueueExt::wait_until_final) (5 ms up
/// to 100 ms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Backoff {
    first: Duration,
    cap: Duration,
    next: Duration,
}

impl Backoff {
    /// A back-off whose first delay is `first` and whose delays never
    /// exceed `cap`.
    pub(crate) fn new(first: Duration, cap: Duration) -> Self {
        Backoff {
            first,
            cap,
            next: first.min(cap),
        }
    }

    /// The pause between claims while the queue keeps failing: 50 ms,
    /// doubling up to 5 s. Short enough that a claimant is back at work
    /// soon after a blip, long enough that a down backend is asked only
    /// every few seconds.
    pub(crate) fn after_failed_claim() -> Self {
        Backoff::new(Duration::from_millis(50), Duration::from_secs(5))
    }

    /// Starts over: the next delay is the first again. Called whenever the
    /// queue answers, with work or without.
    pub(crate) fn reset(&mut self) {
        self.next = self.first.min(self.cap);
    }

    /// The delay to wait now; the one after it is twice as long, up to the
    /// cap.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = delay.saturating_mul(2).min(self.cap);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_failed_claim_waits_50ms_doubling_up_to_5s_until_reset() {
        let mut backoff = Backoff::after_failed_claim();
        let delays: Vec<Duration> = (0..10).map(|_| backoff.next_delay()).collect();
        assert_eq!(
            delays,
            [
                ms(50),
                ms(100),
                ms(200),
                ms(400),
                ms(800),
                ms(1600),
                ms(3200),
                ms(5000),
                ms(5000),
                ms(5000)
            ]
        );
        backoff.reset();
        assert_eq!(backoff.next_delay(), ms(50));
        assert_eq!(backoff.next_delay(), ms(100));
    }

    #[test]
    fn the_cap_bounds_every_delay_even_the_first() {
        let mut polling = Backoff::new(ms(5), ms(100));
        let delays: Vec<Duration> = (0..7).map(|_| polling.next_delay()).collect();
        assert_eq!(
            delays,
            [ms(5), ms(10), ms(20), ms(40), ms(80), ms(100), ms(100)]
        );
        let mut inverted = Backoff::new(ms(10), ms(1));
        assert_eq!(inverted.next_delay(), ms(1));
        assert_eq!(inverted.next_delay(), ms(1));
        let mut huge = Backoff::new(Duration::MAX, Duration::MAX);
        assert_eq!(huge.next_delay(), Duration::MAX);
        assert_eq!(huge.next_delay(), Duration::MAX, "saturates, never panics");
    }
}
