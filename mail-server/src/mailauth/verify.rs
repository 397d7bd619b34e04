//! SPF, DKIM and DMARC checks of a received message (RFC 7208, RFC 6376 §6, RFC 7489 §6.6),
//! their `Authentication-Results:` field, and whether DMARC's policy refuses the message.

use std::{
    net::IpAddr,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use mail_auth::{
    AuthenticatedMessage, DkimOutput, DkimResult, DmarcOutput, DmarcResult, Error,
    MessageAuthenticator, SpfOutput, SpfResult, dmarc::Policy, dmarc::verify::DmarcParameters,
    spf::verify::SpfParameters,
};
use sansmail_core::sasl::base64_encode;

use super::results::{AuthResult, ResultsField};
use crate::outbound::dns::HickoryResolver;

/// Who handed the message over, as SPF sees it.
#[derive(Debug, Clone, Copy)]
pub struct Client<'a> {
    /// The client's address.
    pub ip: IpAddr,
    /// The name it gave in HELO/EHLO.
    pub helo: &'a str,
    /// The envelope sender's address (`MAIL FROM`), empty for the null sender `<>`.
    pub mail_from: &'a str,
}

impl Client<'_> {
    /// The identity SPF checked, as an `Authentication-Results:` property: the `MAIL FROM`
    /// address, or the HELO name for the null sender (RFC 8601 §2.7.2).
    fn spf_identity(&self) -> (&'static str, &str) {
        if self.mail_from.is_empty() {
            ("smtp.helo", self.helo)
        } else {
            ("smtp.mailfrom", self.mail_from)
        }
    }
}

/// A DMARC policy (RFC 7489 §6.3 `p=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmarcPolicy {
    /// `p=none`: report only.
    None,
    /// `p=quarantine`: treat as suspicious.
    Quarantine,
    /// `p=reject`: refuse.
    Reject,
}

/// What the checks found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// SPF of the `MAIL FROM` domain (of the HELO name for the null sender).
    pub spf: AuthResult,
    /// DKIM: `pass` when any signature verified, else the first signature's result, `none`
    /// without signatures.
    pub dkim: AuthResult,
    /// DMARC of the `From:` domain.
    pub dmarc: AuthResult,
    /// The `From:` domain DMARC judged, if there was one.
    pub from_domain: Option<String>,
    /// Its DMARC policy, when it publishes one.
    pub policy: Option<DmarcPolicy>,
    /// The message fails DMARC, its domain asks for rejection (for this message, after
    /// `pct=`), and this server enforces it: answer `550 5.7.1`.
    pub refuse: bool,
    /// The `Authentication-Results:` field recording it all, ended with CRLF.
    pub field: String,
}

/// How many header fields named `name` (any case) the message's header section holds.
pub(crate) fn count_fields(message: &[u8], name: &[u8]) -> usize {
    sansmail_store::headers::header_values(message, name).len()
}

/// Checks messages received from other systems (port 25).
pub struct Verifier {
    auth: MessageAuthenticator,
    authserv_id: String,
    /// Refuse mail that fails DMARC when its domain says `p=reject`, and mail without exactly
    /// one From: field, which DMARC cannot judge (on by default). Off, the failure is only
    /// recorded.
    pub enforce_reject: bool,
    /// DKIM signatures checked a message (default 8), in the order they appear: each costs
    /// a key lookup, and the sender chooses how many there are (RFC 6376 §6.1 lets a
    /// verifier limit them). The others are not reported.
    pub max_signatures: usize,
    /// How long all the checks of one message may take (default 60 s), however many
    /// lookups they make and however slowly the sender's name servers answer; past it each
    /// check is a `temperror` and nothing is refused.
    pub deadline: Duration,
    /// For `pct=` sampling (RFC 7489 §6.6.4): a count, not a clock.
    sampled: AtomicU64,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("authserv_id", &self.authserv_id)
            .field("enforce_reject", &self.enforce_reject)
            .finish_non_exhaustive()
    }
}

/// The organizational domain (RFC 7489 §3.2): the registrable domain by the Public Suffix
/// List, for relaxed alignment.
fn organizational_domain(domain: &str) -> &str {
    psl::domain_str(domain).unwrap_or(domain)
}

fn spf_result(r: SpfResult) -> AuthResult {
    match r {
        SpfResult::Pass => AuthResult::Pass,
        SpfResult::Fail => AuthResult::Fail,
        SpfResult::SoftFail => AuthResult::SoftFail,
        SpfResult::Neutral => AuthResult::Neutral,
        SpfResult::TempError => AuthResult::TempError,
        SpfResult::PermError => AuthResult::PermError,
        SpfResult::None => AuthResult::None,
    }
}

/// A DKIM result and the reason for anything but a pass.
fn dkim_result(r: &DkimResult) -> (AuthResult, Option<String>) {
    match r {
        DkimResult::Pass => (AuthResult::Pass, None),
        // A body that no longer matches its hash failed verification (RFC 8601 §2.7.1),
        // though mail-auth calls it neutral.
        DkimResult::Neutral(e @ Error::FailedBodyHashMatch) => {
            (AuthResult::Fail, Some(e.to_string()))
        }
        DkimResult::Neutral(e) => (AuthResult::Neutral, Some(e.to_string())),
        DkimResult::Fail(e) => (AuthResult::Fail, Some(e.to_string())),
        DkimResult::PermError(e) => (AuthResult::PermError, Some(e.to_string())),
        DkimResult::TempError(e) => (AuthResult::TempError, Some(e.to_string())),
        DkimResult::None => (AuthResult::None, None),
    }
}

/// DMARC's result: `pass` when an aligned SPF or DKIM pass exists; with a record and
/// neither, `fail` (or `temperror` when a lookup failed); without a record, `none`.
fn dmarc_result(out: &DmarcOutput) -> AuthResult {
    let (spf, dkim) = (out.spf_result(), out.dkim_result());
    if *spf == DmarcResult::Pass || *dkim == DmarcResult::Pass {
        return AuthResult::Pass;
    }
    let temp = |r: &DmarcResult| matches!(r, DmarcResult::TempError(_));
    let perm = |r: &DmarcResult| matches!(r, DmarcResult::PermError(_));
    if temp(spf) || temp(dkim) {
        AuthResult::TempError
    } else if out.dmarc_record().is_some() {
        AuthResult::Fail
    } else if perm(spf) || perm(dkim) {
        AuthResult::PermError
    } else {
        AuthResult::None
    }
}

impl Verifier {
    /// Checks with `resolver`'s DNS servers, naming this server `authserv_id` in the
    /// results (its host name).
    pub fn new(resolver: &HickoryResolver, authserv_id: &str) -> Self {
        Self {
            auth: MessageAuthenticator(resolver.inner().clone()),
            authserv_id: authserv_id.to_ascii_lowercase(),
            enforce_reject: true,
            max_signatures: 8,
            deadline: Duration::from_secs(60),
            sampled: AtomicU64::new(0),
        }
    }

    /// The name this server gives itself in `Authentication-Results:`.
    pub fn authserv_id(&self) -> &str {
        &self.authserv_id
    }

    /// Whether this failing message is among the `pct` percent the policy applies to.
    fn sampled(&self, pct: u8) -> bool {
        pct >= 100 || self.sampled.fetch_add(1, Ordering::Relaxed) % 100 < u64::from(pct)
    }

    /// Checks `message` (as the client sent it, without this server's trace fields), within
    /// [`deadline`](Self::deadline).
    pub async fn verify(&self, client: &Client<'_>, message: &[u8]) -> Verdict {
        match tokio::time::timeout(self.deadline, self.check(client, message)).await {
            Ok(verdict) => verdict,
            Err(_) => self.timed_out(client),
        }
    }

    /// The verdict when the checks took too long: each a `temperror`, nothing refused.
    fn timed_out(&self, client: &Client<'_>) -> Verdict {
        const WHY: &str = "the checks took too long";
        let mut field = ResultsField::new(&self.authserv_id);
        field.method(
            "spf",
            AuthResult::TempError,
            Some(WHY),
            None,
            &[client.spf_identity()],
        );
        field.method("dkim", AuthResult::TempError, Some(WHY), None, &[]);
        field.method("dmarc", AuthResult::TempError, Some(WHY), None, &[]);
        Verdict {
            spf: AuthResult::TempError,
            dkim: AuthResult::TempError,
            dmarc: AuthResult::TempError,
            from_domain: None,
            policy: None,
            refuse: false,
            field: field.finish(),
        }
    }

    async fn check(&self, client: &Client<'_>, message: &[u8]) -> Verdict {
        // RFC 7208 §2.4: for the null sender, the HELO name's postmaster is checked.
        let sender = if client.mail_from.is_empty() {
            format!("postmaster@{}", client.helo)
        } else {
            client.mail_from.to_owned()
        };
        let spf: SpfOutput = self
            .auth
            .verify_spf(SpfParameters::verify_mail_from(
                client.ip,
                client.helo,
                &self.authserv_id,
                &sender,
            ))
            .await;
        let mail_from_domain = sender
            .rsplit_once('@')
            .map_or(client.helo, |(_, d)| d)
            .to_ascii_lowercase();

        // RFC 7489 §6.6.1: DMARC needs exactly one From: field (RFC 5322 §3.6 allows no
        // other count); mail-auth calls a message with none, or with several domains,
        // exempt, so a second From: naming the sender's own domain would slip a spoof of a
        // p=reject domain through. Such a message is refused (when enforcing), as
        // OpenDMARC's RequiredHeaders does.
        let from_fields = count_fields(message, b"From");
        if from_fields != 1 {
            let mut field = ResultsField::new(&self.authserv_id);
            field.method(
                "spf",
                spf_result(spf.result()),
                None,
                None,
                &[client.spf_identity()],
            );
            field.method(
                "dmarc",
                AuthResult::PermError,
                Some("not exactly one From field"),
                None,
                &[],
            );
            return Verdict {
                spf: spf_result(spf.result()),
                dkim: AuthResult::None,
                dmarc: AuthResult::PermError,
                from_domain: None,
                policy: None,
                refuse: self.enforce_reject,
                field: field.finish(),
            };
        }
        let mut parsed = AuthenticatedMessage::parse(message);
        if let Some(m) = &mut parsed {
            m.dkim_headers.truncate(self.max_signatures);
        }
        let dkim: Vec<DkimOutput<'_>> = match &parsed {
            Some(m) => self.auth.verify_dkim(m).await,
            None => Vec::new(),
        };
        let dmarc = match &parsed {
            Some(m) => Some(
                self.auth
                    .verify_dmarc(
                        DmarcParameters::new(m, &dkim, &mail_from_domain, &spf)
                            .with_domain_suffix_fn(organizational_domain),
                    )
                    .await,
            ),
            None => None,
        };

        let mut field = ResultsField::new(&self.authserv_id);
        let spf_r = spf_result(spf.result());
        field.method("spf", spf_r, None, None, &[client.spf_identity()]);
        if dkim.is_empty() {
            field.method("dkim", AuthResult::None, None, None, &[]);
        }
        for d in &dkim {
            let (r, reason) = dkim_result(d.result());
            let mut props = Vec::new();
            let b;
            if let Some(sig) = d.signature() {
                props.push(("header.d", sig.d.as_str()));
                props.push(("header.s", sig.s.as_str()));
                // RFC 6008: the first eight characters tell signatures of one domain apart.
                b = base64_encode(&sig.b);
                props.push(("header.b", b.get(..8).unwrap_or(&b)));
            }
            field.method("dkim", r, reason.as_deref(), None, &props);
        }
        let dkim_r = dkim
            .iter()
            .map(|d| dkim_result(d.result()).0)
            .find(|r| *r == AuthResult::Pass)
            .or_else(|| dkim.first().map(|d| dkim_result(d.result()).0))
            .unwrap_or(AuthResult::None);

        let (dmarc_r, from_domain, policy, pct) = match &dmarc {
            Some(out) if !out.domain().is_empty() => {
                let policy = out.dmarc_record().map(|_| match out.policy() {
                    Policy::Reject => DmarcPolicy::Reject,
                    Policy::Quarantine => DmarcPolicy::Quarantine,
                    Policy::None | Policy::Unspecified => DmarcPolicy::None,
                });
                let pct = out.dmarc_record().map_or(100, mail_auth::dmarc::Dmarc::pct);
                (
                    dmarc_result(out),
                    Some(out.domain().to_ascii_lowercase()),
                    policy,
                    pct,
                )
            }
            _ => (AuthResult::None, None, None, 100),
        };
        let comment = policy.map(|p| match p {
            DmarcPolicy::None => "p=none",
            DmarcPolicy::Quarantine => "p=quarantine",
            DmarcPolicy::Reject => "p=reject",
        });
        match &from_domain {
            Some(d) => field.method("dmarc", dmarc_r, None, comment, &[("header.from", d)]),
            None => field.method("dmarc", dmarc_r, None, None, &[]),
        }
        let refuse = self.enforce_reject
            && dmarc_r == AuthResult::Fail
            && policy == Some(DmarcPolicy::Reject)
            && self.sampled(pct);
        Verdict {
            spf: spf_r,
            dkim: dkim_r,
            dmarc: dmarc_r,
            from_domain,
            policy,
            refuse,
            field: field.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::count_fields;

    /// Fields of the header only, in any case, not continuation lines nor the body.
    #[test]
    fn counts_header_fields() {
        let m = b"From: a@x\r\nfrom :b@y\r\nSubject: s\r\n From: folded\r\n\r\nFrom: quoted in the body\r\n";
        assert_eq!(count_fields(m, b"From"), 2);
        assert_eq!(count_fields(b"Subject: s\n\nFrom: body\n", b"From"), 0);
        assert_eq!(
            count_fields(b"Received: a\r\nReceived: b\r\n\r\n", b"Received"),
            2
        );
        assert_eq!(count_fields(b"", b"From"), 0);
    }
}
