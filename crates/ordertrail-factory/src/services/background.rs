//! [`Background`]: a task that lives as long as the service state holding it.
//!
//! Services are routers, served until their shutdown future resolves; when the server ends,
//! the router and every clone of its state are dropped. A background task (the outbox relay,
//! a queue consumer) held here is aborted then, so it never outlives its service.

use std::future::Future;
use std::sync::Arc;

use tokio::task::AbortHandle;

/// Aborts its task when the last clone is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Background {
    _task: Arc<AbortOnDrop>,
}

#[derive(Debug)]
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Background {
    /// Spawns `task` on the current runtime.
    pub(crate) fn spawn(task: impl Future<Output = ()> + Send + 'static) -> Self {
        Self {
            _task: Arc::new(AbortOnDrop(tokio::spawn(task).abort_handle())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_task_ends_with_the_last_clone() {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
        let background = Background::spawn(async move {
            let _tx = tx;
            std::future::pending::<()>().await;
        });
        let clone = background.clone();
        drop(background);
        tokio::task::yield_now().await;
        assert!(rx.try_recv().is_err(), "still running with one clone left");
        drop(clone);
        assert_eq!(
            rx.recv().await,
            None,
            "the task ended and dropped its sender"
        );
    }
}
