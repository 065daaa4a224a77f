//! Riding out a busy or restarting API server: requests retried on 429 and 5xx, and the
//! backoff that watches resume with.
//!
//! kuul is what an operator reaches for when the control plane is already in trouble: an
//! API server being upgraded answers 503 for a few seconds, one under load has API
//! Priority and Fairness reject requests with 429 and a `Retry-After`. kubectl rides such
//! moments out, and so does kuul. [`client`] builds the kube client that every command
//! uses with a layer that sends a request again when the answer is 429 or a 5xx, after a
//! pause that grows exponentially with jitter (so that kuul's own concurrent writes, and
//! other clients, do not come back in step) and is never shorter than the server's
//! `Retry-After`, for at most a budget: `--request-timeout`, or [`DEFAULT_BUDGET`]. Then
//! the last answer stands and the command reports it as usual.
//!
//! Every request kuul sends may be sent twice: reads and watches, server-side applies
//! and deletes (a repeated delete answers 404, which the commands take as done), and the
//! only creates, of `SelfSubjectReview`s (nothing is stored) and of `run-now`'s Job,
//! whose name kuul chooses: a create repeated after its first answer was lost is refused
//! with 409 `AlreadyExists`, and `run-now` recognises its own Job by the run id it
//! gave it. A create with `generateName` could not be repeated safely; kuul sends none.
//!
//! A connection that cannot be made or breaks is not retried here: a request fails at
//! once, so that a command facing a dead API server ends quickly and says what it did;
//! the watches resume by themselves with [`Backoff`] ([`crate::watch`]).

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{Request, Response, StatusCode};
use kube::client::Body;
use kube::{Client, Config};

use crate::printer::Printer;

/// How long one request may keep being retried when `--request-timeout` does not say:
/// long enough to wait out the longest `Retry-After` of API Priority and Fairness (32 s).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(60);

/// The first pause before a request is sent again; each later pause doubles, up to
/// [`REQUEST_MAX`].
const REQUEST_INITIAL: Duration = Duration::from_millis(100);
const REQUEST_MAX: Duration = Duration::from_secs(5);
/// The first pause before a watch or log stream is opened again, and the longest: an API
/// server restarting takes seconds, and a watch should be back soon after it is.
const WATCH_INITIAL: Duration = Duration::from_millis(250);
const WATCH_MAX: Duration = Duration::from_secs(5);

/// A kube client for `config` whose requests are retried on 429 and 5xx answers, each
/// for at most `budget` (else [`DEFAULT_BUDGET`]).
pub fn client(mut config: Config, budget: Option<Duration>) -> Result<Client, kube::Error> {
    // kube's own retry sends every request again, creates with generated names too, with
    // no bound in time; this layer replaces it.
    config.default_retry = false;
    let inner = Client::try_from(config)?;
    let namespace = inner.default_namespace().to_owned();
    let valid_until = *inner.valid_until();
    let retrying = Retrying {
        inner,
        budget: budget.unwrap_or(DEFAULT_BUDGET),
    };
    Ok(Client::new(retrying, namespace).with_valid_until(valid_until))
}

/// The layer: sends each request through `inner`, again while the answer says to.
#[derive(Clone)]
struct Retrying {
    inner: Client,
    budget: Duration,
}

impl tower_service::Service<Request<Body>> for Retrying {
    type Response = Response<Body>;
    type Error = kube::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, kube::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), kube::Error>> {
        // The inner client buffers requests itself.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { this.send(request).await })
    }
}

impl Retrying {
    async fn send(self, mut request: Request<Body>) -> Result<Response<Body>, kube::Error> {
        let started = Instant::now();
        let mut backoff = Backoff::new(REQUEST_INITIAL, REQUEST_MAX);
        loop {
            let again = copy(&request);
            let response = self.inner.send(request).await?;
            let Some(again) = again else {
                return Ok(response);
            };
            let pause = pause(response.status(), retry_after(&response), &mut backoff);
            match pause {
                Some(pause) if started.elapsed() + pause <= self.budget => {
                    tell_once(response.status(), self.budget);
                    tokio::time::sleep(pause).await;
                    request = again;
                }
                _ => return Ok(response),
            }
        }
    }
}

/// A copy of `request` to send again, when its body can be copied (kube's requests carry
/// their body in one piece).
fn copy(request: &Request<Body>) -> Option<Request<Body>> {
    let body = request.body().try_clone()?;
    let mut copy = Request::new(body);
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    *copy.extensions_mut() = request.extensions().clone();
    Some(copy)
}

/// The server's `Retry-After`, in seconds (API Priority and Fairness sends 1 to 32).
fn retry_after(response: &Response<Body>) -> Option<Duration> {
    let value = response.headers().get(http::header::RETRY_AFTER)?;
    let seconds: u64 = value.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// Whether an answer with HTTP status `code` says to try again later: 429 (throttled)
/// and the 5xx of a server that is overloaded, restarting or cut off from etcd. 501 and
/// 505 say the request itself will never work.
pub fn is_transient(code: u16) -> bool {
    code == 429 || ((500..=599).contains(&code) && code != 501 && code != 505)
}

/// The pause before sending a request again after `status`, or `None` when the answer
/// stands: the server's `Retry-After` plus up to a quarter more (so that the clients it
/// throttled at once do not return at once), else the next backoff step.
fn pause(
    status: StatusCode,
    retry_after: Option<Duration>,
    backoff: &mut Backoff,
) -> Option<Duration> {
    if !is_transient(status.as_u16()) {
        return None;
    }
    let step = backoff.step();
    Some(match retry_after {
        Some(wait) => wait + wait.mul_f64(random_fraction() / 4.0),
        None => step,
    })
}

/// Says once per process that the API server is being waited out, so that a slow
/// command explains itself.
fn tell_once(status: StatusCode, budget: Duration) {
    static TOLD: AtomicBool = AtomicBool::new(false);
    if !TOLD.swap(true, Ordering::Relaxed) {
        Printer::new().warn(format_args!(
            "the API server answered {status}; retrying with backoff for up to {} per request",
            crate::time::elapsed(budget)
        ));
    }
}

/// Exponential backoff with jitter: each step waits between half and all of a delay that
/// doubles from `initial` up to `max`. It never gives up; the caller decides how long to
/// go on. Watches use it through kube's [`kube::runtime::utils::Backoff`], which resets
/// it after every event.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    steps: u32,
}

impl Backoff {
    fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            steps: 0,
        }
    }

    /// The backoff of watches and log streams: from a quarter second up to five.
    pub fn for_watches() -> Self {
        Self::new(WATCH_INITIAL, WATCH_MAX)
    }

    /// The next pause.
    pub fn step(&mut self) -> Duration {
        let delay = self.delay(self.steps);
        self.steps = self.steps.saturating_add(1);
        delay.mul_f64(0.5 + random_fraction() / 2.0)
    }

    /// The delay of step `n` before jitter.
    fn delay(&self, n: u32) -> Duration {
        let factor = 2_u32.saturating_pow(n.min(20));
        self.initial.saturating_mul(factor).min(self.max)
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        Some(self.step())
    }
}

impl kube::runtime::utils::Backoff for Backoff {
    fn reset(&mut self) {
        self.steps = 0;
    }
}

/// A number in [0, 1) that differs from call to call: jitter needs no more than that.
// 53 random bits fit an f64's mantissa exactly, so every value in [0, 1) is reachable.
#[allow(clippy::cast_precision_loss)]
fn random_fraction() -> f64 {
    let mut hasher = std::hash::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let bits = (hasher.finish() >> 11) as f64;
    bits / (1_u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_server_trouble_are_retried_but_not_a_bad_request() {
        for code in [429, 500, 502, 503, 504] {
            assert!(is_transient(code), "{code}");
        }
        for code in [200, 201, 400, 401, 403, 404, 409, 410, 422, 501, 505] {
            assert!(!is_transient(code), "{code}");
        }
        let mut backoff = Backoff::new(REQUEST_INITIAL, REQUEST_MAX);
        assert_eq!(pause(StatusCode::CONFLICT, None, &mut backoff), None);
    }

    #[test]
    fn retry_after_is_a_floor_with_a_quarter_of_spread() {
        let mut backoff = Backoff::new(REQUEST_INITIAL, REQUEST_MAX);
        for _ in 0..50 {
            let wait = pause(
                StatusCode::TOO_MANY_REQUESTS,
                Some(Duration::from_secs(2)),
                &mut backoff,
            )
            .unwrap();
            assert!(wait >= Duration::from_secs(2), "{wait:?}");
            assert!(wait <= Duration::from_millis(2500), "{wait:?}");
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_its_cap_and_starts_over_on_reset() {
        let mut backoff = Backoff::for_watches();
        let steps: Vec<Duration> = (0..8).map(|_| backoff.step()).collect();
        for (n, step) in steps.iter().enumerate() {
            let full = (WATCH_INITIAL * 2_u32.pow(u32::try_from(n).unwrap())).min(WATCH_MAX);
            assert!(*step >= full / 2 && *step <= full, "step {n}: {step:?}");
        }
        assert!(steps[7] >= WATCH_MAX / 2);
        kube::runtime::utils::Backoff::reset(&mut backoff);
        assert!(backoff.next().unwrap() <= WATCH_INITIAL);
    }

    #[test]
    fn jitter_differs_between_calls() {
        let draws: Vec<f64> = (0..20).map(|_| random_fraction()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        assert!(draws.windows(2).any(|w| (w[0] - w[1]).abs() > f64::EPSILON));
    }

    #[test]
    fn a_request_is_copied_whole() {
        let request = Request::builder()
            .method("PATCH")
            .uri("/apis/batch/v1/namespaces/ops/cronjobs/backup?fieldManager=kuul-apply")
            .header("content-type", "application/apply-patch+yaml")
            .body(Body::from(b"{}".to_vec()))
            .unwrap();
        let copy = copy(&request).unwrap();
        assert_eq!(copy.method(), "PATCH");
        assert_eq!(copy.uri(), request.uri());
        assert_eq!(copy.headers(), request.headers());
    }
}
