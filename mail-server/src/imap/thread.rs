//! THREAD and UID THREAD over the messages the SEARCH keys match: the glue between the store
//! and `sansmail_imap::thread`.

use std::io;

use sansmail_imap::{
    sort::Message,
    thread::{ordered_subject, references},
    types::{
        response::Data,
        search::{Charset, SearchKey, ThreadAlgorithm},
    },
};

use sansmail_store::MailStore;

use super::Conn;

impl<S: MailStore> Conn<'_, S> {
    /// `["UID" SP] THREAD SP thread-alg SP charset 1*(SP search-key)` (RFC 5256 §5).
    pub(super) async fn thread(
        &mut self,
        uid: bool,
        algorithm: &ThreadAlgorithm<'_>,
        charset: &Charset<'_>,
        keys: &[SearchKey<'_>],
    ) -> io::Result<()> {
        let with_references = match algorithm {
            ThreadAlgorithm::References => true,
            ThreadAlgorithm::OrderedSubject => false,
            ThreadAlgorithm::Other(a) => {
                return self.bad(&format!("Unknown threading algorithm {a}"));
            }
        };
        if !self.check_charset(Some(charset))? {
            return Ok(());
        }
        let Some((found, _)) = self.find(keys).await? else {
            return Ok(());
        };
        let Some(messages) = self.records(&found, with_references).await? else {
            return Ok(());
        };
        let id = |m: &Message| if uid { m.uid } else { m.seq };
        let threads = if with_references {
            references(&messages, id)
        } else {
            ordered_subject(&messages, id)
        };
        self.server_mut().send_data(Data::Thread(threads));
        self.ok(None, "THREAD completed")
    }
}
