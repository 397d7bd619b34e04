//! Message octets, stored once per content and shared by every copy.
//!
//! A message is prepared before its transaction (line ends made CRLF, the MIME tree parsed
//! for ENVELOPE and BODYSTRUCTURE, the header fields and addresses SEARCH looks up, the
//! SHA-256 that names it). Its blob row counts the messages that point at it: a transaction
//! that adds messages adds to the count (inserting the row, with its header fields and
//! addresses, when it is the first), one that removes them subtracts and deletes the rows it
//! brought to zero. Both lock the blob rows they touch, so a message added while its last
//! copy is expunged on another node keeps its octets.

use deadpool_postgres::GenericClient;
use sha2::{Digest, Sha256};

use super::db::{DbError, R, execute, query};
use crate::{
    crlf::{crlf_sizes, to_crlf},
    date::{Day, parse_day},
    headers::header_values,
    mime::{MimeInfo, search_forms},
    upload::Upload,
};

/// The fields whose addresses SEARCH FROM/TO/CC/BCC compares (and a few more that hold
/// addresses), lower case.
pub(crate) const ADDRESS_FIELDS: &[&str] = &["from", "to", "cc", "bcc", "reply-to", "sender"];

/// A message ready to be stored.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub hash: Vec<u8>,
    pub data: Vec<u8>,
    pub size: i64,
    /// The size as POP3 sends it (RFC 1939 §11): bare LFs and bare CRs counted as CRLF.
    pub vsize: i64,
    pub header_len: i64,
    pub mime: String,
    /// The `Date:` field's day, if it parses.
    pub sent_day: Option<i32>,
    /// (name, value), both ASCII lower case.
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
    /// (field name, search form), both ASCII lower case.
    pub addresses: Vec<(Vec<u8>, Vec<u8>)>,
}

fn size(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Days since 1970-01-01 as the schema keeps them.
pub(crate) fn day_number(day: Option<Day>) -> Option<i32> {
    day.and_then(|d| i32::try_from(d.days_since_epoch()).ok())
}

impl Prepared {
    /// Reads an upload and computes what the store keeps about it: CRLF line ends (unless
    /// the upload keeps its own, binary content), the MIME data, the search tables' rows.
    pub fn from_upload(upload: &mut Upload) -> R<Self> {
        let keep = upload.keeps_line_ends();
        let raw = upload.bytes().map_err(|e| DbError::Store(e.into()))?;
        let data = if keep { None } else { to_crlf(&raw) };
        let data = data.unwrap_or_else(|| raw.into_owned());
        Ok(Self::from_bytes(data))
    }

    /// What the store keeps about a message already in its stored form.
    pub fn from_bytes(data: Vec<u8>) -> Self {
        let mime = MimeInfo::parse(&data);
        let header_len = usize::try_from(mime.header_len)
            .unwrap_or(data.len())
            .min(data.len());
        let header = &data[..header_len];
        let fields = fields(header);
        let mut addresses = Vec::new();
        for name in ADDRESS_FIELDS {
            for v in header_values(header, name.as_bytes()) {
                let forms = search_forms(&String::from_utf8_lossy(&v));
                if forms.iter().any(|f| f.contains('@')) {
                    for f in forms {
                        addresses.push((
                            name.as_bytes().to_vec(),
                            f.into_bytes().to_ascii_lowercase(),
                        ));
                    }
                } else {
                    addresses.push((name.as_bytes().to_vec(), v.to_ascii_lowercase()));
                }
            }
        }
        let (vsize, bare_crs) = crlf_sizes(&data);
        let pop3_size = vsize + bare_crs;
        let sent_day = header_values(header, b"Date")
            .first()
            .and_then(|v| parse_day(&String::from_utf8_lossy(v)));
        Self {
            hash: Sha256::digest(&data).to_vec(),
            size: size(data.len()),
            vsize: i64::try_from(pop3_size).unwrap_or(i64::MAX),
            header_len: size(header_len),
            mime: serde_json::to_string(&mime).unwrap_or_default(),
            sent_day: day_number(sent_day),
            fields,
            addresses,
            data,
        }
    }
}

/// Every field of a header block, unfolded, as [`header_values`] reads them: (name, value)
/// in ASCII lower case.
pub(crate) fn fields(header: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut current: Option<(Vec<u8>, Vec<u8>)> = None;
    for line in header.split_inclusive(|&b| b == b'\n') {
        let content = line
            .strip_suffix(b"\n")
            .map_or(line, |l| l.strip_suffix(b"\r").unwrap_or(l));
        if content.is_empty() {
            break;
        }
        if matches!(content.first(), Some(b' ' | b'\t')) {
            if let Some((_, v)) = &mut current {
                v.extend_from_slice(&content.to_ascii_lowercase());
            }
            continue;
        }
        out.extend(current.take());
        if let Some(colon) = content.iter().position(|&b| b == b':') {
            current = Some((
                content[..colon].trim_ascii_end().to_ascii_lowercase(),
                content[colon + 1..].trim_ascii_start().to_ascii_lowercase(),
            ));
        }
    }
    out.extend(current);
    out
}

/// Adds `refs` references to the blob, storing it (with its search rows) if it is new.
pub(crate) async fn add(tx: &impl GenericClient, p: &Prepared, refs: i64) -> R<()> {
    let known = execute(
        tx,
        "UPDATE blobs SET refs = refs + $2 WHERE hash = $1",
        &[&p.hash, &refs],
    )
    .await?;
    if known > 0 {
        return Ok(());
    }
    let rows = query(
        tx,
        "INSERT INTO blobs (hash, refs, size, vsize, header_len, sent_day, mime, data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (hash) DO UPDATE SET refs = blobs.refs + EXCLUDED.refs \
         RETURNING (xmax = 0)",
        &[
            &p.hash,
            &refs,
            &p.size,
            &p.vsize,
            &p.header_len,
            &p.sent_day,
            &p.mime,
            &p.data,
        ],
    )
    .await?;
    let inserted = rows.first().map(|r| r.try_get::<_, bool>(0)).transpose()?;
    if inserted != Some(true) {
        return Ok(());
    }
    let (names, values): (Vec<&[u8]>, Vec<&[u8]>) = p
        .fields
        .iter()
        .map(|(n, v)| (n.as_slice(), v.as_slice()))
        .unzip();
    execute(
        tx,
        "INSERT INTO header_fields (hash, name, value) \
         SELECT $1, n, v FROM unnest($2::bytea[], $3::bytea[]) AS f(n, v)",
        &[&p.hash, &names, &values],
    )
    .await?;
    let (names, forms): (Vec<&[u8]>, Vec<&[u8]>) = p
        .addresses
        .iter()
        .map(|(n, v)| (n.as_slice(), v.as_slice()))
        .unzip();
    execute(
        tx,
        "INSERT INTO addresses (hash, name, form) \
         SELECT $1, n, f FROM unnest($2::bytea[], $3::bytea[]) AS a(n, f)",
        &[&p.hash, &names, &forms],
    )
    .await?;
    Ok(())
}

/// Changes the reference counts of blobs by `delta` per listed hash (a hash listed twice
/// counts twice), deleting the blobs no message points at any more. Rows are locked in hash
/// order, so two transactions sharing blobs wait for each other instead of deadlocking.
pub(crate) async fn adjust(tx: &impl GenericClient, hashes: &[Vec<u8>], delta: i64) -> R<()> {
    if hashes.is_empty() {
        return Ok(());
    }
    let mut sorted: Vec<&Vec<u8>> = hashes.iter().collect();
    sorted.sort();
    let mut distinct: Vec<&[u8]> = Vec::new();
    let mut counts: Vec<i64> = Vec::new();
    for h in sorted {
        if distinct.last() == Some(&h.as_slice()) {
            if let Some(c) = counts.last_mut() {
                *c += delta;
            }
        } else {
            distinct.push(h);
            counts.push(delta);
        }
    }
    query(
        tx,
        "SELECT 1 FROM blobs WHERE hash = ANY($1) ORDER BY hash FOR UPDATE",
        &[&distinct],
    )
    .await?;
    execute(
        tx,
        "UPDATE blobs SET refs = blobs.refs + c.n \
         FROM unnest($1::bytea[], $2::bigint[]) AS c(hash, n) WHERE blobs.hash = c.hash",
        &[&distinct, &counts],
    )
    .await?;
    if delta < 0 {
        execute(
            tx,
            "DELETE FROM blobs WHERE hash = ANY($1) AND refs <= 0",
            &[&distinct],
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_as_header_values_does() {
        let header = b"Subject: Hello\r\n World\r\nX-Odd : v\r\nno colon\r\n cont\r\nTo: A <a@b.c>\r\n\r\nBody: no\r\n";
        let f = fields(header);
        for (name, _) in &f {
            let mine: Vec<Vec<u8>> = f
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .collect();
            let theirs: Vec<Vec<u8>> = header_values(header, name)
                .into_iter()
                .map(|v| v.to_ascii_lowercase())
                .collect();
            assert_eq!(mine, theirs, "{}", String::from_utf8_lossy(name));
        }
        assert_eq!(
            f.iter().map(|(n, _)| n.as_slice()).collect::<Vec<_>>(),
            vec![&b"subject"[..], b"x-odd", b"to"]
        );
        assert_eq!(f[0].1, b"hello world");
    }

    #[test]
    fn prepared_keeps_what_search_needs() {
        let p = Prepared::from_bytes(
            b"From: Real Name <User@Example.org>\nCc: not an address\nDate: 30 Jun 2003 23:00 -1000\n\nbody\n"
                .to_vec(),
        );
        assert!(
            p.data
                .starts_with(b"From: Real Name <User@Example.org>\r\n")
                || p.data.contains(&b'\n')
        );
        assert!(
            p.addresses
                .iter()
                .any(|(n, f)| n == b"from" && f == b"real name <user@example.org>")
        );
        assert!(
            p.addresses
                .iter()
                .any(|(n, f)| n == b"cc" && f == b"not an address")
        );
        assert_eq!(p.sent_day, day_number(Day::new(2003, 6, 30).ok()));
        assert_eq!(p.hash.len(), 32);
    }
}
