//! Where GitHub's APIs live for a configured `github.api_url`: github.com
//! serves REST at `https://api.github.com` and GraphQL at `/graphql` under
//! it; GitHub Enterprise Server serves REST at `https://HOST/api/v3` and
//! GraphQL at `https://HOST/api/graphql`.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The REST API's root, no trailing slash.
    pub rest: String,
    /// The URL GraphQL queries are posted to.
    pub graphql: String,
}

impl Endpoints {
    /// From `https://api.github.com`, `https://HOST/api/v3`, or
    /// `https://HOST` alone (an Enterprise host). An API at the root of a
    /// loopback or IP address (a local mock or proxy) keeps GraphQL at
    /// `/graphql` under it.
    pub fn of(api_url: &str) -> Endpoints {
        let url = api_url.trim_end_matches('/');
        if let Some(api) = url.strip_suffix("/v3")
            && api.ends_with("/api")
        {
            return Endpoints {
                rest: url.to_string(),
                graphql: format!("{api}/graphql"),
            };
        }
        let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let bare_host = host.split(':').next().unwrap_or(host);
        let root_api = bare_host.starts_with("api.")
            || bare_host == "localhost"
            || bare_host.parse::<std::net::IpAddr>().is_ok()
            || bare_host.starts_with('[');
        if path.is_empty() && !root_api {
            return Endpoints {
                rest: format!("{scheme}://{host}/api/v3"),
                graphql: format!("{scheme}://{host}/api/graphql"),
            };
        }
        Endpoints {
            rest: url.to_string(),
            graphql: format!("{url}/graphql"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_com_enterprise_and_local_apis() {
        let e = |url: &str| {
            let e = Endpoints::of(url);
            (e.rest, e.graphql)
        };
        assert_eq!(
            e("https://api.github.com"),
            (
                "https://api.github.com".into(),
                "https://api.github.com/graphql".into()
            )
        );
        assert_eq!(
            e("https://ghe.corp/api/v3/"),
            (
                "https://ghe.corp/api/v3".into(),
                "https://ghe.corp/api/graphql".into()
            )
        );
        assert_eq!(
            e("https://ghe.corp"),
            (
                "https://ghe.corp/api/v3".into(),
                "https://ghe.corp/api/graphql".into()
            )
        );
        assert_eq!(
            e("http://127.0.0.1:8080"),
            (
                "http://127.0.0.1:8080".into(),
                "http://127.0.0.1:8080/graphql".into()
            )
        );
        assert_eq!(
            e("http://127.0.0.1:8080/api/v3"),
            (
                "http://127.0.0.1:8080/api/v3".into(),
                "http://127.0.0.1:8080/api/graphql".into()
            )
        );
    }
}
