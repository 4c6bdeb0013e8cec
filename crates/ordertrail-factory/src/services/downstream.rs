//! [`Downstream`]: a service we call, and how its answers become results or [`CallError`]s.
//!
//! A call error says what the callee did — refused (4xx), failed, or did not answer in time —
//! and nothing about what we answer our own client: that mapping happens at the handler edge.

use http::StatusCode;
use reqwest::Url;
use reqwest_middleware::{ClientWithMiddleware, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;

use ordertrail::web::ErrorBody;

/// A downstream service's base URL is not an absolute `http` or `https` URL.
#[derive(Debug, thiserror::Error)]
#[error("{service}: {base:?} is not an http(s) base URL")]
pub struct BaseUrlError {
    /// The service it names.
    pub service: &'static str,
    /// The URL given.
    pub base: String,
}

/// A call to a downstream service did not succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The service answered with a client error (4xx) and its JSON `error` message.
    #[error("{service} answered {status}: {message}")]
    Rejected {
        /// The service called.
        service: &'static str,
        /// Its status, a 4xx.
        status: StatusCode,
        /// Its error message, or the status reason when the body had none.
        message: String,
    },
    /// The service answered 5xx, could not be reached, or answered what we cannot decode.
    #[error("{service} failed")]
    Failed {
        /// The service called.
        service: &'static str,
        /// Why.
        #[source]
        source: CallFailure,
    },
    /// The service did not answer in time.
    #[error("{service} timed out")]
    TimedOut {
        /// The service called.
        service: &'static str,
    },
}

/// Why a call [failed](CallError::Failed).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallFailure {
    /// The service answered with a server error.
    #[error("answered {0}")]
    Status(StatusCode),
    /// The request could not be sent or its answer not received.
    #[error(transparent)]
    Transport(reqwest_middleware::Error),
    /// The answer was not the JSON expected.
    #[error("undecodable answer")]
    Decode(#[source] reqwest::Error),
}

/// A named downstream service at a base URL.
#[derive(Debug, Clone)]
pub struct Downstream {
    name: &'static str,
    /// Parsed once: a call clones it and sets its path, where a string would be parsed whole
    /// (scheme, host, port) again for every call.
    base: Url,
    client: ClientWithMiddleware,
}

impl Downstream {
    /// `name` appears in error messages; `base` is like `http://127.0.0.1:8081`.
    ///
    /// # Errors
    /// `base` is not an absolute `http` or `https` URL.
    pub fn new(
        name: &'static str,
        base: &str,
        client: ClientWithMiddleware,
    ) -> Result<Self, BaseUrlError> {
        let url = crate::http_url::parse(base).ok_or_else(|| BaseUrlError {
            service: name,
            base: base.to_owned(),
        })?;
        Ok(Self {
            name,
            base: url,
            client,
        })
    }

    /// `GET {base}{path}`, decoding a JSON answer.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CallError> {
        self.send(self.client.get(self.url(path))).await
    }

    /// `POST {base}{path}` with a JSON body, decoding a JSON answer.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, CallError> {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    /// The base URL with `path` appended to the base's own path (`http://h:1/api` and
    /// `/orders` give `http://h:1/api/orders`). `path` is a path only: a `?` in it is
    /// escaped, not the start of a query.
    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}{path}", url.path().trim_end_matches('/'));
        url.set_path(&joined);
        url
    }

    /// Sends and sorts the answer: 2xx decodes, 4xx is [`CallError::Rejected`], 5xx and
    /// transport failures [`CallError::Failed`], time-outs [`CallError::TimedOut`].
    async fn send<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T, CallError> {
        let res = req.send().await.map_err(|e| self.transport_error(e))?;
        let status = res.status();
        if status.is_success() {
            return res
                .json::<T>()
                .await
                .map_err(|e| self.failed(CallFailure::Decode(e)));
        }
        if status.is_client_error() {
            return Err(self.rejected(status, res).await);
        }
        Err(self.failed(CallFailure::Status(status)))
    }

    async fn rejected(&self, status: StatusCode, res: reqwest::Response) -> CallError {
        let message = match res.json::<ErrorBody>().await {
            Ok(body) => body.error,
            Err(_) => status
                .canonical_reason()
                .unwrap_or("client error")
                .to_owned(),
        };
        CallError::Rejected {
            service: self.name,
            status,
            message,
        }
    }

    fn transport_error(&self, err: reqwest_middleware::Error) -> CallError {
        if err.is_timeout() {
            CallError::TimedOut { service: self.name }
        } else {
            self.failed(CallFailure::Transport(err))
        }
    }

    fn failed(&self, source: CallFailure) -> CallError {
        CallError::Failed {
            service: self.name,
            source,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use axum::Router;
    use axum::routing::get;
    use serde_json::{Value, json};

    use super::*;

    /// A callee answering each way a call can go, on a loopback port.
    async fn callee() -> Downstream {
        let app = Router::new()
            .route("/ok", get(|| async { axum::Json(json!({"n": 1})) }))
            .route("/conflict", get(|| async { conflict() }))
            .route(
                "/plain",
                get(|| async { (StatusCode::IM_A_TEAPOT, "short and stout") }),
            )
            .route("/down", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
            .route("/garbage", get(|| async { "not json" }))
            .route("/slow", get(|| tokio::time::sleep(Duration::from_secs(5))));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Downstream::new("callee", &base, client()).expect("a base URL")
    }

    #[test]
    fn a_path_is_appended_to_the_base_and_its_own_path() {
        let url = |base: &str, path: &str| {
            let callee = Downstream::new("callee", base, client()).expect("a base URL");
            callee.url(path).to_string()
        };
        assert_eq!(
            url("http://127.0.0.1:8081", "/orders"),
            "http://127.0.0.1:8081/orders"
        );
        assert_eq!(
            url("http://127.0.0.1:8081/", "/orders"),
            "http://127.0.0.1:8081/orders"
        );
        assert_eq!(
            url("http://h:1/api/", "/charges/o-1"),
            "http://h:1/api/charges/o-1"
        );
        assert_eq!(url("https://h/api", "/a b"), "https://h/api/a%20b");
        assert_eq!(url("http://h:1", "/o?x=1"), "http://h:1/o%3Fx=1");
    }

    #[test]
    fn a_base_that_is_not_an_http_url_is_refused() {
        for base in ["", "127.0.0.1:8081", "mailto:a@b", "ftp://h/"] {
            let err = Downstream::new("callee", base, client()).unwrap_err();
            assert_eq!(err.service, "callee");
            assert_eq!(err.base, base);
        }
    }

    fn conflict() -> (StatusCode, axum::Json<Value>) {
        let body = json!({"error": "only 2 of poster-limited left", "request_id": null});
        (StatusCode::CONFLICT, axum::Json(body))
    }

    /// A client with a 300 ms timeout and no middleware.
    pub(crate) fn client() -> ClientWithMiddleware {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        reqwest_middleware::ClientBuilder::new(client).build()
    }

    #[tokio::test]
    async fn a_success_decodes() {
        let value: Value = callee().await.get("/ok").await.unwrap();
        assert_eq!(value, json!({"n": 1}));
    }

    #[tokio::test]
    async fn a_4xx_is_rejected_with_the_callee_message() {
        let err = callee().await.get::<Value>("/conflict").await.unwrap_err();
        let CallError::Rejected {
            service,
            status,
            message,
        } = err
        else {
            panic!("expected Rejected, got {err:?}");
        };
        assert_eq!(
            (service, status, message.as_str()),
            (
                "callee",
                StatusCode::CONFLICT,
                "only 2 of poster-limited left"
            )
        );
    }

    #[tokio::test]
    async fn a_4xx_without_a_json_body_is_rejected_with_the_status_reason() {
        let err = callee().await.get::<Value>("/plain").await.unwrap_err();
        assert!(
            matches!(&err, CallError::Rejected { status, message, .. }
                if *status == StatusCode::IM_A_TEAPOT && message == "I'm a teapot"),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_5xx_fails_and_keeps_its_status_as_the_source() {
        let err = callee().await.get::<Value>("/down").await.unwrap_err();
        assert!(
            matches!(err, CallError::Failed { source: CallFailure::Status(s), .. }
                if s == StatusCode::SERVICE_UNAVAILABLE),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn an_undecodable_answer_fails_and_keeps_the_decoder_error() {
        let err = callee().await.get::<Value>("/garbage").await.unwrap_err();
        let CallError::Failed {
            source: CallFailure::Decode(decode),
            ..
        } = &err
        else {
            panic!("expected a decode failure, got {err:?}");
        };
        assert!(decode.is_decode(), "{decode:?}");
    }

    #[tokio::test]
    async fn no_answer_in_time_is_timed_out() {
        let err = callee().await.get::<Value>("/slow").await.unwrap_err();
        assert!(
            matches!(err, CallError::TimedOut { service: "callee" }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_service_fails_with_the_transport_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let err = Downstream::new("gone", &base, client())
            .expect("a base URL")
            .get::<Value>("/")
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                CallError::Failed {
                    service: "gone",
                    source: CallFailure::Transport(_)
                }
            ),
            "{err:?}"
        );
    }
}
