//! Secret values kept out of what is stored from an agent.

use std::borrow::Cow;

/// Values shorter than this are not treated as secrets: they would match
/// ordinary words.
const MIN_SECRET: usize = 8;

/// Replaces the values of secret-looking variables with `[redacted NAME]`.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// (value, replacement), longest value first so a secret that contains
    /// another is replaced whole.
    secrets: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Redactor {
    /// From every variable whose name looks secret (see
    /// [`super::env::looks_secret`]).
    pub fn from_vars<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Redactor {
        let mut secrets: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for (k, v) in vars {
            let v = v.trim();
            if !super::env::looks_secret(k) || v.len() < MIN_SECRET {
                continue;
            }
            let replacement = format!("[redacted {k}]").into_bytes();
            // As written, and as it appears inside a JSON string (a key
            // with newlines or quotes, a PEM block).
            let escaped = serde_json::to_string(v).unwrap_or_default();
            let escaped = escaped.trim_matches('"');
            for form in [v, escaped] {
                secrets.push((form.as_bytes().to_vec(), replacement.clone()));
            }
        }
        secrets.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        secrets.dedup_by(|a, b| a.0 == b.0);
        Redactor { secrets }
    }

    /// The process's own environment.
    pub fn from_process() -> Redactor {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::from_vars(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    pub fn redact<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let mut out: Cow<'a, [u8]> = Cow::Borrowed(bytes);
        for (secret, replacement) in &self.secrets {
            if memchr::memmem::find(&out, secret).is_none() {
                continue;
            }
            let mut next = Vec::with_capacity(out.len());
            let mut rest: &[u8] = &out;
            while let Some(at) = memchr::memmem::find(rest, secret) {
                next.extend_from_slice(&rest[..at]);
                next.extend_from_slice(replacement);
                rest = &rest[at + secret.len()..];
            }
            next.extend_from_slice(rest);
            out = Cow::Owned(next);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_replaced_everywhere() {
        let r = Redactor::from_vars([
            ("GITHUB_PAT", "ghp_abcdefgh12345"),
            ("OPENAI_API_KEY", "sk-longer-ghp_abcdefgh12345"),
            ("PATH", "/usr/bin:/bin"),
            ("SHORT_TOKEN", "abc"),
        ]);
        let pem = Redactor::from_vars([("SSH_KEY", "-----BEGIN\nabc\"def\n-----END\n")]);
        assert_eq!(
            String::from_utf8_lossy(&pem.redact(br#"{"text":"-----BEGIN\nabc\"def\n-----END"}"#)),
            r#"{"text":"[redacted SSH_KEY]"}"#
        );
        let line = b"a ghp_abcdefgh12345 b sk-longer-ghp_abcdefgh12345 /usr/bin:/bin abc";
        assert_eq!(
            String::from_utf8_lossy(&r.redact(line)),
            "a [redacted GITHUB_PAT] b [redacted OPENAI_API_KEY] /usr/bin:/bin abc"
        );
        assert!(matches!(r.redact(b"nothing here"), Cow::Borrowed(_)));
    }
}
