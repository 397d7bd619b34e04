//! The [`Accounts`] policy over a users file.

use std::collections::HashMap;

use sansmail_core::Credentials;
use sansmail_smtp::{ForwardPath, ReversePath};
use sansmail_store::AccountName;

use super::{Password, User};
use crate::auth::{Accounts, Refusal};

/// Who receives mail here and who may log in: local domains, users with their passwords,
/// the postmaster, and the addresses each user may send as.
#[derive(Debug, Clone)]
pub struct Directory {
    /// Domains whose users are local (compared case-insensitively).
    pub domains: Vec<String>,
    /// User names (lower case) and passwords.
    pub users: HashMap<String, Password>,
    /// The user that receives mail for `<Postmaster>` and `postmaster@<local domain>`.
    pub postmaster: String,
    /// Addresses a user may send as besides their own (lower case), from the users file.
    pub senders: HashMap<String, Vec<String>>,
}

impl Directory {
    /// The users of `users` at `domains`; the first user is the postmaster. Names and
    /// sender addresses are lower-cased, as lookups compare them.
    pub fn new(domains: Vec<String>, users: Vec<User>) -> Self {
        let lower = |s: &String| s.to_lowercase();
        Self {
            domains,
            postmaster: users.first().map(|u| lower(&u.name)).unwrap_or_default(),
            senders: users
                .iter()
                .map(|u| (lower(&u.name), u.senders.iter().map(lower).collect()))
                .collect(),
            users: users
                .into_iter()
                .map(|u| (lower(&u.name), u.password))
                .collect(),
        }
    }

    /// Whether mail for `domain` is delivered here.
    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// The account of a configured user (names compare case-insensitively).
    pub fn account(&self, user: &str) -> Option<AccountName> {
        let user = user.to_lowercase();
        if !self.users.contains_key(&user) {
            return None;
        }
        AccountName::try_from(user.as_str()).ok()
    }
}

impl Accounts for Directory {
    /// An authorization identity other than the user is refused: no user may act as another
    /// here.
    fn verify(&self, credentials: &Credentials) -> Option<AccountName> {
        let user = &credentials.authcid;
        if credentials
            .authzid
            .as_deref()
            .is_some_and(|z| !z.eq_ignore_ascii_case(user))
        {
            return None;
        }
        let known = self.users.get(&user.to_lowercase())?;
        if known.verify(credentials.password.expose()) {
            self.account(user)
        } else {
            None
        }
    }

    fn offers_apop(&self) -> bool {
        self.users.values().any(|u| u.plaintext().is_some())
    }

    fn apop_secret(&self, user: &str) -> Option<String> {
        self.users
            .get(&user.to_lowercase())?
            .plaintext()
            .map(str::to_owned)
    }

    /// Their own addresses (those delivered to them), `<>`, and the `senders=` of their line
    /// in the users file.
    fn may_send_as(&self, account: &AccountName, from: &ReversePath<'_>) -> bool {
        let Some(mailbox) = from.mailbox() else {
            return true;
        };
        if self.recipient(&ForwardPath::Mailbox(mailbox.clone())) == Ok(account.clone()) {
            return true;
        }
        let address = mailbox.to_string().to_lowercase();
        self.senders
            .get(account.as_str())
            .is_some_and(|list| list.contains(&address))
    }

    fn recipient(&self, to: &ForwardPath<'_>) -> Result<AccountName, Refusal> {
        let user = match to.mailbox() {
            None => self.postmaster.clone(),
            Some(m) => {
                let domain = m.domain().domain().ok_or(Refusal::AddressLiteral)?;
                if !self.is_local_domain(domain.as_str()) {
                    return Err(Refusal::NotLocal);
                }
                if m.local_part().is_postmaster() {
                    self.postmaster.clone()
                } else {
                    m.local_part().unquoted().to_lowercase()
                }
            }
        };
        self.account(&user).ok_or(Refusal::NoSuchUser)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use sansmail_smtp::Mailbox;

    use super::*;
    use crate::passwd_file::hash_password;

    /// The POP3 greeting offers APOP (its timestamp) only where some user can use it.
    #[test]
    fn apop_is_offered_only_with_a_plaintext_password() {
        let hashed = Password::parse_hash(&hash_password("pw").unwrap()).unwrap();
        let mut d = Directory {
            domains: vec!["example.org".to_owned()],
            users: HashMap::from([("alice".to_owned(), hashed)]),
            postmaster: "alice".to_owned(),
            senders: HashMap::new(),
        };
        assert!(!d.offers_apop());
        assert_eq!(d.apop_secret("alice"), None);
        d.users
            .insert("bob".to_owned(), Password::Plain("pw".to_owned()));
        assert!(d.offers_apop());
        assert_eq!(d.apop_secret("bob").as_deref(), Some("pw"));
    }

    #[test]
    fn recipients_senders_and_logins() {
        let user = |name: &str, senders: &[&str]| User {
            name: name.to_owned(),
            password: Password::from("pw"),
            senders: senders.iter().map(|s| (*s).to_owned()).collect(),
            quota: None,
        };
        let d = Directory::new(
            vec!["Example.ORG".to_owned()],
            vec![user("Alice", &[]), user("bob", &["Team@example.net"])],
        );
        let alice = AccountName::try_from("alice").unwrap();
        let bob = AccountName::try_from("bob").unwrap();
        let to = |s: &'static str| ForwardPath::Mailbox(Mailbox::try_from(s).unwrap());
        assert_eq!(d.recipient(&to("Bob@example.org")), Ok(bob.clone()));
        assert_eq!(d.recipient(&ForwardPath::Postmaster), Ok(alice.clone()));
        assert_eq!(
            d.recipient(&to("postmaster@example.org")),
            Ok(alice.clone())
        );
        assert_eq!(
            d.recipient(&to("carol@example.org")),
            Err(Refusal::NoSuchUser)
        );
        assert_eq!(d.recipient(&to("bob@example.net")), Err(Refusal::NotLocal));
        assert_eq!(
            d.recipient(&to("bob@[192.0.2.1]")),
            Err(Refusal::AddressLiteral)
        );
        let from = |s: &'static str| ReversePath::Mailbox(Mailbox::try_from(s).unwrap());
        assert!(d.may_send_as(&bob, &from("bob@example.org")));
        assert!(d.may_send_as(&bob, &from("Team@Example.NET")));
        assert!(d.may_send_as(&bob, &ReversePath::Null));
        assert!(!d.may_send_as(&alice, &from("team@example.net")));
        assert!(!d.may_send_as(&bob, &from("alice@example.org")));
        let login = |authcid: &str, authzid: Option<&str>, pw: &str| {
            let c = Credentials::new(authcid, pw);
            d.verify(&match authzid {
                Some(z) => c.with_authzid(z),
                None => c,
            })
        };
        assert_eq!(login("BOB", None, "pw"), Some(bob.clone()));
        assert_eq!(login("bob", Some("bob"), "pw"), Some(bob));
        assert_eq!(login("bob", Some("alice"), "pw"), None);
        assert_eq!(login("bob", None, "px"), None);
        assert_eq!(login("carol", None, "pw"), None);
    }
}
