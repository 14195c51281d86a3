//! How fast to send: one limiter shared by every call of one client, so a
//! whole apply (its reads too) stays near the rate the account allows.
//!
//! IAM throttles each account with token buckets it does not publish. The
//! pacer finds the rate by additive increase and multiplicative decrease,
//! as the SDKs' adaptive retry mode does, with three differences that the
//! measurements in BENCHMARKS.md rest on:
//!
//! - It does not pace at all until the first throttled answer, so an
//!   account without a limit in reach is as fast as without the pacer.
//! - It grows by a fixed fraction per accepted call rather than per second,
//!   so the share of throttled answers (about `GROWTH / (1 - BACKOFF)`)
//!   does not depend on the account's rate.
//! - It lowers the rate at most once per throttling episode: an answer to a
//!   call sent before the last decrease carries no news about the new rate
//!   (the SDK's limiter lowers again for every such answer and collapses).
//!   On a decrease it never stays above what the account accepted in the
//!   last second, which a server's burst allowance can hide for a while.
//!
//! The logic here takes the time as an argument and does no IO, so it is
//! tested with a fake clock; `paced` sleeps and sends.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The lowest rate, in calls per second. Calls are never refused by the
/// pacer: at the floor they wait longer, that is all.
pub const MIN_RATE: f64 = 0.5;
/// No pacing above this rate: it is no limit any account has.
const MAX_RATE: f64 = 10_000.0;
/// The factor a throttling episode applies to the rate.
const BACKOFF: f64 = 0.8;
/// Growth per accepted call once a limit was met: back to the rate before a
/// decrease after about 56 calls, so about 2% of answers are throttled.
const GROWTH: f64 = 0.004;
/// Growth per second, in calls per second, besides [`GROWTH`]. Growth per
/// call alone cannot outgrow throttles that come whatever the rate (other
/// callers sharing the account's bucket, or injected at random): above
/// about 2% of answers it would sink to [`MIN_RATE`]. With this term such
/// a rate settles where a second's growth makes up for the decreases.
const GROWTH_PER_SECOND: f64 = 0.25;
/// The rate a first throttle starts from when the last second saw fewer
/// accepted calls (the first calls of a run): a throttle then says the
/// account is busy, not that it allows no more than those few.
const START_RATE: f64 = 5.0;
/// The window over which accepted calls are counted.
const WINDOW: Duration = Duration::from_secs(1);

/// The state of the limiter. Callers hold it behind a mutex.
#[derive(Debug)]
pub struct Pacer {
    /// Calls per second once a limit was met; `None` before: no pacing.
    rate: Option<f64>,
    /// The earliest time the next call may be sent.
    next: Instant,
    /// Throttling episodes so far; see [`Ticket`].
    epoch: u64,
    /// When the calls of the last [`WINDOW`] were accepted.
    accepted: VecDeque<Instant>,
    /// When the rate last grew with time.
    grown: Instant,
}

/// The permission to send one attempt, handed back with its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    /// The throttling episode the attempt was sent in.
    epoch: u64,
}

impl Pacer {
    /// A pacer that does not pace until the first throttled answer.
    pub fn new(now: Instant) -> Pacer {
        Pacer {
            rate: None,
            next: now,
            epoch: 0,
            accepted: VecDeque::new(),
            grown: now,
        }
    }

    /// The current rate in calls per second, `None` while unlimited.
    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// Reserves the next slot for one attempt: how long to wait before
    /// sending it, and the ticket to hand back with its answer. Slots are
    /// `1 / rate` apart, so every attempt, retries included, is paced.
    pub fn reserve(&mut self, now: Instant) -> (Duration, Ticket) {
        let ticket = Ticket { epoch: self.epoch };
        let Some(rate) = self.rate else {
            return (Duration::ZERO, ticket);
        };
        let slot = self.next.max(now);
        self.next = slot + Duration::from_secs_f64(1.0 / rate);
        (slot - now, ticket)
    }

    /// The account accepted an attempt (whatever its answer, it was not
    /// throttled).
    pub fn accepted(&mut self, now: Instant) {
        self.accepted.push_back(now);
        while self
            .accepted
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > WINDOW)
        {
            self.accepted.pop_front();
        }
        if let Some(rate) = &mut self.rate {
            let seconds = now.saturating_duration_since(self.grown).as_secs_f64();
            *rate = (*rate * (1.0 + GROWTH) + GROWTH_PER_SECOND * seconds.min(1.0)).min(MAX_RATE);
        }
        self.grown = self.grown.max(now);
    }

    /// The account throttled the attempt sent with `ticket`.
    pub fn throttled(&mut self, now: Instant, ticket: Ticket) {
        if ticket.epoch != self.epoch {
            // Sent before the last decrease: already accounted for.
            return;
        }
        self.epoch += 1;
        while self
            .accepted
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > WINDOW)
        {
            self.accepted.pop_front();
        }
        let recent = (self.accepted.len() as f64).max(START_RATE);
        let base = match self.rate {
            Some(rate) => rate.min(recent),
            // The first throttle: what the account took in the last second
            // is the only measure there is.
            None => recent,
        };
        let rate = (base * BACKOFF).max(MIN_RATE);
        self.rate = Some(rate);
        // The account is out of tokens now: the next slot starts one
        // interval after now, not at a slot reserved before the news.
        self.next = self.next.max(now) + Duration::from_secs_f64(1.0 / rate);
        self.grown = self.grown.max(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clock the test moves by hand.
    struct Clock(Instant);

    impl Clock {
        fn at(&self, seconds: f64) -> Instant {
            self.0 + Duration::from_secs_f64(seconds)
        }
    }

    #[test]
    fn no_pacing_until_the_first_throttle() {
        let clock = Clock(Instant::now());
        let mut pacer = Pacer::new(clock.at(0.0));
        for i in 0..1000 {
            let (wait, _) = pacer.reserve(clock.at(i as f64 / 1000.0));
            assert_eq!(wait, Duration::ZERO);
            pacer.accepted(clock.at(i as f64 / 1000.0));
        }
        assert_eq!(pacer.rate(), None);
    }

    #[test]
    fn the_first_throttle_sets_the_rate_below_what_was_accepted() {
        let clock = Clock(Instant::now());
        let mut pacer = Pacer::new(clock.at(0.0));
        // 30 calls accepted within the last second, then a throttle.
        for i in 0..30 {
            pacer.reserve(clock.at(i as f64 * 0.03));
            pacer.accepted(clock.at(i as f64 * 0.03));
        }
        let (_, ticket) = pacer.reserve(clock.at(0.95));
        pacer.throttled(clock.at(1.0), ticket);
        let rate = pacer.rate().unwrap();
        assert!((rate - 30.0 * BACKOFF).abs() < 1e-9, "{rate}");
        // Slots are now 1 / rate apart, starting one interval from now.
        let (first, _) = pacer.reserve(clock.at(1.0));
        let (second, _) = pacer.reserve(clock.at(1.0));
        assert!((first.as_secs_f64() - 1.0 / rate).abs() < 1e-6, "{first:?}");
        assert!(
            (second.as_secs_f64() - 2.0 / rate).abs() < 1e-6,
            "{second:?}"
        );
    }

    #[test]
    fn one_decrease_per_episode_however_many_calls_were_in_flight() {
        let clock = Clock(Instant::now());
        let mut pacer = Pacer::new(clock.at(0.0));
        for i in 0..20 {
            pacer.accepted(clock.at(0.5 + i as f64 * 0.01));
        }
        // Eight calls sent at once, all throttled.
        let tickets: Vec<Ticket> = (0..8).map(|_| pacer.reserve(clock.at(1.0)).1).collect();
        for ticket in &tickets {
            pacer.throttled(clock.at(1.1), *ticket);
        }
        assert!((pacer.rate().unwrap() - 20.0 * BACKOFF).abs() < 1e-9);
        // A call sent after the decrease is news again.
        let (_, later) = pacer.reserve(clock.at(1.2));
        pacer.throttled(clock.at(1.3), later);
        assert!((pacer.rate().unwrap() - 20.0 * BACKOFF * BACKOFF).abs() < 1e-9);
    }

    #[test]
    fn accepted_calls_raise_the_rate_a_little_each() {
        let clock = Clock(Instant::now());
        let mut pacer = Pacer::new(clock.at(0.0));
        for i in 0..10 {
            pacer.accepted(clock.at(0.1 * i as f64));
        }
        let (_, ticket) = pacer.reserve(clock.at(1.0));
        pacer.throttled(clock.at(1.0), ticket);
        let low = pacer.rate().unwrap();
        // Close together, so growth with time adds next to nothing.
        for i in 0..56 {
            pacer.accepted(clock.at(1.0 + i as f64 * 1e-6));
        }
        let recovered = pacer.rate().unwrap();
        // 56 calls undo one decrease: (1 + GROWTH)^56 is about 1 / BACKOFF.
        assert!(
            (recovered / low - 1.0 / BACKOFF).abs() < 0.01,
            "{low} -> {recovered}"
        );
    }

    #[test]
    fn the_first_throttle_of_a_run_does_not_start_at_the_floor() {
        let clock = Clock(Instant::now());
        let mut pacer = Pacer::new(clock.at(0.0));
        let (_, ticket) = pacer.reserve(clock.at(0.0));
        pacer.throttled(clock.at(0.1), ticket);
        assert_eq!(pacer.rate(), Some(START_RATE * BACKOFF));
    }

    /// Throttles that come whatever the rate (a tenth of the answers, at
    /// random) lower the rate to where a second's growth makes up for them,
    /// not to the floor.
    #[test]
    fn throttles_at_random_do_not_sink_the_rate_to_the_floor() {
        let clock = Clock(Instant::now());
        let mut pacer = Pacer::new(clock.at(0.0));
        let mut t = 0.0_f64;
        for i in 0..2000_u64 {
            let (wait, ticket) = pacer.reserve(clock.at(t));
            t += wait.as_secs_f64() + 0.001;
            // A fixed pseudo-random tenth.
            if (i.wrapping_mul(2_654_435_761) >> 7) % 10 == 0 {
                pacer.throttled(clock.at(t), ticket);
            } else {
                pacer.accepted(clock.at(t));
            }
        }
        let rate = pacer.rate().unwrap();
        assert!(rate > 2.0, "sank to {rate} calls/s");
    }

    #[test]
    fn the_rate_never_falls_below_the_floor() {
        let clock = Clock(Instant::now());
        let mut pacer = Pacer::new(clock.at(0.0));
        let mut t = 0.0;
        for _ in 0..100 {
            let (wait, ticket) = pacer.reserve(clock.at(t));
            t += wait.as_secs_f64();
            pacer.throttled(clock.at(t), ticket);
        }
        assert_eq!(pacer.rate(), Some(MIN_RATE));
        // At the floor the slots are 2 s apart: a call waits, it is not
        // refused.
        let (a, _) = pacer.reserve(clock.at(t));
        let (b, _) = pacer.reserve(clock.at(t));
        assert!((b - a).as_secs_f64() - 1.0 / MIN_RATE < 1e-6);
    }

    /// Against a simulated account with a token bucket of 10 calls per
    /// second and a burst of 20, the pacer settles near 10 calls per second
    /// with few throttled answers: the targets of BENCHMARKS.md, without
    /// the network.
    #[test]
    fn settles_near_a_token_buckets_rate_with_few_throttles() {
        let clock = Clock(Instant::now());
        let mut pacer = Pacer::new(clock.at(0.0));
        let (rate, burst) = (10.0, 20.0);
        let (mut tokens, mut last) = (burst, 0.0);
        let (mut t, mut done, mut throttled) = (0.0_f64, 0, 0);
        // One call at a time, sent as soon as its slot comes.
        while done < 1400 {
            let (wait, ticket) = pacer.reserve(clock.at(t));
            t += wait.as_secs_f64() + 0.001;
            tokens = (tokens + (t - last) * rate).min(burst);
            last = t;
            if tokens >= 1.0 {
                tokens -= 1.0;
                done += 1;
                pacer.accepted(clock.at(t));
            } else {
                throttled += 1;
                pacer.throttled(clock.at(t), ticket);
            }
        }
        let ideal = (1400.0 - burst) / rate;
        assert!(t < ideal * 1.15, "took {t:.1} s, ideal {ideal:.1} s");
        let share = throttled as f64 / (done + throttled) as f64;
        assert!(
            share < 0.05,
            "{throttled} throttled of {}",
            done + throttled
        );
    }
}
