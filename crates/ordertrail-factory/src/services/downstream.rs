//! [`Downstream`]: a service we call, and how its answers become results or [`AppError`]s.

use reqwest_middleware::{ClientWithMiddleware, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::web::AppError;
use ordertrail::web::ErrorBody;

/// A named downstream service at a base URL.
#[derive(Debug, Clone)]
pub struct Downstream {
    name: &'static str,
    base: String,
    client: ClientWithMiddleware,
}

impl Downstream {
    /// `name` appears in error messages; `base` is like `http://127.0.0.1:8081`.
    pub fn new(name: &'static str, base: impl Into<String>, client: ClientWithMiddleware) -> Self {
        let base = base.into().trim_end_matches('/').to_owned();
        Self { name, base, client }
    }

    /// `GET {base}{path}`, decoding a JSON answer.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, AppError> {
        self.send(self.client.get(self.url(path))).await
    }

    /// `POST {base}{path}` with a JSON body, decoding a JSON answer.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, AppError> {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends and maps: 2xx decodes, 4xx passes on as [`AppError::Downstream`], 5xx and
    /// transport failures become 502, time-outs 504.
    async fn send<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T, AppError> {
        let res = req.send().await.map_err(|e| self.transport_error(&e))?;
        let status = res.status();
        if status.is_success() {
            return res
                .json::<T>()
                .await
                .map_err(|e| self.bad_gateway(format!("undecodable answer: {e}")));
        }
        if status.is_client_error() {
            let message = match res.json::<ErrorBody>().await {
                Ok(body) => body.error,
                Err(_) => status
                    .canonical_reason()
                    .unwrap_or("client error")
                    .to_owned(),
            };
            return Err(AppError::Downstream { status, message });
        }
        Err(self.bad_gateway(format!("answered {status}")))
    }

    fn transport_error(&self, err: &reqwest_middleware::Error) -> AppError {
        if err.is_timeout() {
            AppError::GatewayTimeout { service: self.name }
        } else {
            self.bad_gateway(err.to_string())
        }
    }

    fn bad_gateway(&self, detail: String) -> AppError {
        AppError::BadGateway {
            service: self.name,
            detail,
        }
    }
}
