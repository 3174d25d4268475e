//! URLs from the command line (a Grafana, a chart repository): parsed by a
//! URL parser (the `http` crate's, which ureq uses to send them), shown in
//! messages without their password, and with every form of their
//! credentials known, so that no message — ours, or an echo of the server
//! or of Helm — prints them.

use ureq::http::Uri;

/// A URL given by the user.
pub struct Url {
    /// What requests are sent to: the text as given.
    pub text: String,
    /// For messages: the password replaced by `(password)`.
    pub shown: String,
    /// The password and the Basic credentials made of the user part, as
    /// written and percent-decoded: never to be printed.
    pub secrets: Vec<String>,
}

/// Why a text is not a URL infra uses. Each shows the URL without its
/// credentials.
#[derive(Debug, Clone, PartialEq)]
pub enum UrlError {
    NotAUrl,
    /// Another scheme: the URL as shown, and the schemes expected.
    Scheme {
        shown: String,
        expected: Vec<String>,
    },
    NoHost {
        shown: String,
    },
    /// An `@` after the host: a password holding `/`, `?` or `#` ended
    /// the host early (only the scheme and host are shown).
    AtAfterHost {
        scheme: String,
        host: String,
    },
}

impl std::fmt::Display for UrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlError::NotAUrl => f.write_str("not a URL"),
            UrlError::Scheme { shown, expected } => {
                let expected: Vec<String> = expected.iter().map(|s| format!("{s}://")).collect();
                write!(f, "{shown}: expected a URL that starts with {}", expected.join(" or "))
            }
            UrlError::NoHost { shown } => write!(f, "{shown}: no host"),
            UrlError::AtAfterHost { scheme, host } => write!(
                f,
                "{scheme}://{host}: the URL has an `@` after its host; a password that holds `/`, `?` or `#` must be percent-encoded (%2F, %3F, %23)"
            ),
        }
    }
}

impl Url {
    /// Parses `text`, which must use one of `schemes`. An error never
    /// quotes the URL's credentials.
    pub fn parse(text: &str, schemes: &[&str]) -> Result<Url, UrlError> {
        let uri: Uri = text.parse().map_err(|_| UrlError::NotAUrl)?;
        let scheme = uri.scheme_str().unwrap_or_default();
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
        let (user, host) = match authority.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, authority),
        };
        let rest = uri.path_and_query().map_or("", |p| p.as_str());
        let rest = if rest == "/" && !text.ends_with('/') { "" } else { rest };
        // A user part without a password is often a token
        // (`https://ghp_…@host`): shown as `(secret)`.
        let shown = match user {
            Some(user) => match user.split_once(':') {
                Some((name, _)) => format!("{scheme}://{name}:(password)@{host}{rest}"),
                None => format!("{scheme}://(secret)@{host}{rest}"),
            },
            None => format!("{scheme}://{host}{rest}"),
        };
        if !schemes.contains(&scheme) {
            return Err(UrlError::Scheme { shown, expected: schemes.iter().map(|s| s.to_string()).collect() });
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(UrlError::NoHost { shown });
        }
        // `http://admin:pa/ss@host` is the host `admin`: a password holding
        // `/`, `?` or `#` ends the host early, and would be sent, and
        // printed, as a path. Refused, without showing it.
        // The same for `#` (a fragment, which the parser drops) and for any
        // `@` the authority did not take.
        if rest.contains('@') || text.matches('@').count() != authority.matches('@').count() {
            return Err(UrlError::AtAfterHost {
                scheme: scheme.to_string(),
                host: uri.host().unwrap_or_default().to_string(),
            });
        }
        let mut secrets = Vec::new();
        if let Some(user) = user {
            use base64::Engine;
            let decoded = percent_decode(user);
            for form in [user, decoded.as_str()] {
                secrets.push(base64::engine::general_purpose::STANDARD.encode(form));
                match form.split_once(':') {
                    Some((_, password)) => secrets.push(password.to_string()),
                    None => secrets.push(form.to_string()),
                }
            }
        }
        secrets.retain(|s| !s.is_empty());
        secrets.sort();
        secrets.dedup();
        Ok(Url { text: text.to_string(), shown, secrets })
    }

    /// `text` with every credential of this URL replaced by `(secret)`:
    /// for what a server or another program prints back.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.replace(&self.text, &self.shown);
        let mut secrets: Vec<&String> = self.secrets.iter().collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for s in secrets {
            out = out.replace(s.as_str(), "(secret)");
        }
        out
    }
}

/// `%2F` as `/`; malformed escapes stay as written.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEB: &[&str] = &["http", "https"];

    #[test]
    fn passwords_never_reach_messages() {
        let u = Url::parse("http://admin:s3cret@g:3000/x", WEB).unwrap();
        assert_eq!(u.shown, "http://admin:(password)@g:3000/x");
        assert_eq!(Url::parse("https://grafana.lab", WEB).unwrap().shown, "https://grafana.lab");
        let e = Url::parse("ftp://admin:hunter2@grafana", WEB).err().unwrap().to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn a_password_with_a_slash_is_refused_unprinted() {
        for text in ["http://admin:pa/ss@grafana:3000", "http://admin:12/34@grafana", "http://admin:p?w@grafana"] {
            let e = Url::parse(text, WEB).err().unwrap().to_string();
            assert!(e.contains("percent-encoded"), "{e}");
            assert!(!e.contains("pa/ss") && !e.contains("34@") && !e.contains("p?w"), "{e}");
        }
        let u = Url::parse("http://admin:pa%2Fss@grafana:3000", WEB).unwrap();
        assert!(u.secrets.contains(&"pa/ss".to_string()) && u.secrets.contains(&"pa%2Fss".to_string()));
    }

    #[test]
    fn tokens_as_user_names_and_fragments_are_not_printed() {
        let u = Url::parse("https://ghp_token123@github.example/org", WEB).unwrap();
        assert_eq!(u.shown, "https://(secret)@github.example/org");
        assert!(u.redact("cloning https://ghp_token123@github.example/org").contains("(secret)@"));
        assert!(!u.redact("token ghp_token123 refused").contains("ghp_token123"));
        let e = Url::parse("http://admin:1234#pw@grafana", WEB).err().unwrap().to_string();
        assert!(!e.contains("1234") && !e.contains("pw"), "{e}");
    }

    #[test]
    fn every_form_of_the_credentials_is_redacted() {
        let u = Url::parse("http://admin:hunter2@[::1]:3000/x", WEB).unwrap();
        assert!(u.secrets.contains(&"YWRtaW46aHVudGVyMg==".to_string()));
        let echoed = "GET /x Authorization: Basic YWRtaW46aHVudGVyMg== from http://admin:hunter2@[::1]:3000/x";
        let out = u.redact(echoed);
        assert!(!out.contains("hunter2") && !out.contains("YWRtaW46aHVudGVyMg=="), "{out}");
        assert!(Url::parse("http://g:3000/x", WEB).unwrap().secrets.is_empty());
    }
}
