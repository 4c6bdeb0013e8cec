//! The handler edge: how each domain error becomes an [`AppError`], in this one place.
//!
//! | domain error                                  | answer                                  |
//! | --------------------------------------------- | --------------------------------------- |
//! | [`StoreError::NotFound`]                      | 404 `no order {id}`                     |
//! | any other [`StoreError`]                      | 500 `internal error`                    |
//! | [`CallError::Rejected`]                       | the callee's 4xx and message, passed on |
//! | [`CallError::Failed`]                         | 502 `{service} failed`                  |
//! | [`CallError::TimedOut`]                       | 504 `{service} timed out`               |
//! | [`PlaceError::InvalidCard`]                   | 400                                     |
//! | [`PlaceError::UnknownItem`], `OutOfStock`     | 404, 409 with inventory's message       |
//! | [`PlaceError::Declined`]                      | 402 `payment declined`                  |
//! | [`PlaceError::Store`], `Call`                 | as the store or call error it holds     |
//! | [`StockError::UnknownSku`], `NoReservation`   | 404 with its message                    |
//! | [`StockError::OutOfStock`], `AlreadyFinished` | 409 with its message                    |
//! | [`ShipError::Undecodable`], `OrderIdTooLong`  | 400 with its message                    |
//! | [`ShipError::Injected`]                       | 503 with its message                    |
//!
//! The client reads only the message; the log gets what failed and the whole source chain.

use super::downstream::CallError;
use super::inventory::StockError;
use super::orders::{PlaceError, StoreError};
use super::shipping::ShipError;
use crate::web::AppError;

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { order_id } => {
                Self::NotFound(format!("no order {order_id}").into())
            }
            other => Self::internal("orders store failed", other),
        }
    }
}

impl From<CallError> for AppError {
    fn from(err: CallError) -> Self {
        match err {
            CallError::Rejected {
                status, message, ..
            } => Self::Downstream { status, message },
            CallError::Failed { service, source } => Self::BadGateway {
                service,
                source: source.into(),
            },
            CallError::TimedOut { service } => Self::GatewayTimeout { service },
        }
    }
}

impl From<PlaceError> for AppError {
    fn from(err: PlaceError) -> Self {
        match err {
            PlaceError::InvalidCard => {
                Self::BadRequest("card_number is not a valid card number".into())
            }
            PlaceError::UnknownItem { message } => Self::NotFound(message.into()),
            PlaceError::OutOfStock { message } => Self::Conflict(message.into()),
            PlaceError::Declined => Self::PaymentDeclined,
            PlaceError::Store(err) => err.into(),
            PlaceError::Call(err) => err.into(),
        }
    }
}

impl From<StockError> for AppError {
    fn from(err: StockError) -> Self {
        let message = err.to_string().into();
        match err {
            StockError::UnknownSku(_) | StockError::NoReservation(_) => Self::NotFound(message),
            StockError::OutOfStock { .. } | StockError::AlreadyFinished { .. } => {
                Self::Conflict(message)
            }
        }
    }
}

impl From<ShipError> for AppError {
    fn from(err: ShipError) -> Self {
        let message = err.to_string().into();
        match err {
            ShipError::Undecodable(_) | ShipError::OrderIdTooLong(_) => Self::BadRequest(message),
            ShipError::Injected => Self::Unavailable(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;
    use http::StatusCode;
    use ordertrail::correlation::ErrorMessage;
    use serde_json::{Value, json};

    use super::*;
    use crate::services::CallFailure;

    /// What a client and the log see of `err`: status, JSON body, completion message.
    async fn answer(err: impl Into<AppError>) -> (StatusCode, Value, String) {
        let res = err.into().into_response();
        let status = res.status();
        let log = res
            .extensions()
            .get::<ErrorMessage>()
            .expect("a log message");
        let log = log.0.to_string();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap(), log)
    }

    fn error_body(message: &str) -> Value {
        json!({"error": message, "request_id": null})
    }

    fn no_such_table() -> rusqlite::Error {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("SELECT * FROM orders").unwrap_err()
    }

    #[tokio::test]
    async fn a_missing_order_is_a_404() {
        let err = StoreError::NotFound {
            order_id: "o-1".into(),
        };
        let (status, body, _) = answer(err).await;
        assert_eq!(
            (status, body),
            (StatusCode::NOT_FOUND, error_body("no order o-1"))
        );
    }

    #[tokio::test]
    async fn a_database_failure_is_a_generic_500_logged_with_its_chain() {
        let (status, body, log) = answer(StoreError::Database(no_such_table())).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                error_body("internal error")
            )
        );
        assert!(
            log.starts_with("orders store failed: database: no such table: orders"),
            "{log}"
        );
    }

    #[tokio::test]
    async fn a_lost_background_task_is_a_500_logged_with_its_cause() {
        let task = tokio::spawn(std::future::pending::<()>());
        task.abort();
        let join = task.await.unwrap_err();
        let (status, _, log) = answer(StoreError::Task(join)).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            log.starts_with("orders store failed: background task: task")
                && log.ends_with("cancelled"),
            "{log}"
        );
    }

    #[tokio::test]
    async fn a_callee_4xx_passes_through_with_its_message() {
        let err = CallError::Rejected {
            service: "inventory",
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: "quantity too large".into(),
        };
        let (status, body, log) = answer(err).await;
        assert_eq!(
            (status, body, log.as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                error_body("quantity too large"),
                "quantity too large"
            )
        );
    }

    #[tokio::test]
    async fn a_failed_call_is_a_502_logged_with_its_cause() {
        let err = CallError::Failed {
            service: "payments",
            source: CallFailure::Status(StatusCode::SERVICE_UNAVAILABLE),
        };
        let (status, body, log) = answer(err).await;
        assert_eq!(
            (status, body),
            (StatusCode::BAD_GATEWAY, error_body("payments failed"))
        );
        assert_eq!(log, "payments failed: answered 503 Service Unavailable");
    }

    #[tokio::test]
    async fn a_timed_out_call_is_a_504() {
        let (status, body, _) = answer(CallError::TimedOut {
            service: "payments",
        })
        .await;
        assert_eq!(
            (status, body),
            (
                StatusCode::GATEWAY_TIMEOUT,
                error_body("payments timed out")
            )
        );
    }

    #[tokio::test]
    async fn each_order_outcome_has_its_status_and_message() {
        let cases = [
            (
                PlaceError::InvalidCard,
                StatusCode::BAD_REQUEST,
                "card_number is not a valid card number",
            ),
            (
                PlaceError::UnknownItem {
                    message: "unknown sku \"x\"".into(),
                },
                StatusCode::NOT_FOUND,
                "unknown sku \"x\"",
            ),
            (
                PlaceError::OutOfStock {
                    message: "only 1 of poster-limited left".into(),
                },
                StatusCode::CONFLICT,
                "only 1 of poster-limited left",
            ),
            (
                PlaceError::Declined,
                StatusCode::PAYMENT_REQUIRED,
                "payment declined",
            ),
            (
                PlaceError::Call(CallError::TimedOut {
                    service: "inventory",
                }),
                StatusCode::GATEWAY_TIMEOUT,
                "inventory timed out",
            ),
        ];
        for (err, status, message) in cases {
            let (got, body, _) = answer(err).await;
            assert_eq!((got, body), (status, error_body(message)));
        }
    }

    #[tokio::test]
    async fn a_store_failure_while_placing_keeps_its_chain() {
        let err = PlaceError::Store(StoreError::Database(no_such_table()));
        let (status, body, log) = answer(err).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                error_body("internal error")
            )
        );
        assert!(
            log.starts_with("orders store failed: database: no such table: orders"),
            "{log}"
        );
    }

    #[tokio::test]
    async fn each_stock_error_has_its_status_and_message() {
        let cases = [
            (
                StockError::UnknownSku("nope".into()),
                StatusCode::NOT_FOUND,
                "unknown sku \"nope\"",
            ),
            (
                StockError::NoReservation("o-1".into()),
                StatusCode::NOT_FOUND,
                "no reservation for order o-1",
            ),
            (
                StockError::OutOfStock {
                    sku: "poster-limited".into(),
                    available: 1,
                },
                StatusCode::CONFLICT,
                "only 1 of poster-limited left",
            ),
            (
                StockError::AlreadyFinished {
                    state: "released".into(),
                },
                StatusCode::CONFLICT,
                "reservation already released",
            ),
        ];
        for (err, status, message) in cases {
            let (got, body, _) = answer(err).await;
            assert_eq!((got, body), (status, error_body(message)));
        }
    }

    #[tokio::test]
    async fn a_bad_shipping_event_is_a_400_and_an_injected_failure_a_503() {
        let (status, body, _) = answer(ShipError::OrderIdTooLong(300)).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::BAD_REQUEST,
                error_body("order id of 300 bytes, over 128")
            )
        );
        let (status, body, _) = answer(ShipError::Injected).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                error_body("injected shipping failure")
            )
        );
    }
}
