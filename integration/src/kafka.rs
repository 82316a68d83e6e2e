//! [`Kafka`]: a real Apache Kafka broker (one KRaft node from Maven Central jars), started by
//! the tests or named by `KAFKA_BOOTSTRAP_SERVERS`.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::{OnceLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::util::Timeout;

use crate::error::{HarnessError, Result};
use crate::external;
use crate::fetch::{self, free_port};
use crate::managed::{ManagedPeer, ReadyLine};
use crate::process::{run_tool, Launch};
use crate::wait::wait_until;

/// How long a broker gets to start.
pub const START_TIMEOUT: Duration = Duration::from_secs(120);

/// The broker's ready line (logged by `kafka.server.KafkaRaftServer`).
const READY_LINE: &str = "Kafka Server started";

/// A Kafka broker: started by the harness (a single KRaft node on loopback ports, its data
/// in this run's directory) or external (`KAFKA_BOOTSTRAP_SERVERS`).
#[derive(Debug)]
pub struct Kafka {
    bootstrap: String,
    peer: ManagedPeer,
}

impl Kafka {
    /// This test binary's Kafka: `KAFKA_BOOTSTRAP_SERVERS` if set, otherwise one started on
    /// first use (fetched with Maven if needed).
    pub fn shared() -> Result<&'static Kafka> {
        static CELL: OnceLock<Result<Kafka, HarnessError>> = OnceLock::new();
        CELL.get_or_init(|| match external::var(external::KAFKA_BOOTSTRAP_SERVERS) {
            Some(b) => {
                let kafka = Kafka {
                    bootstrap: b,
                    peer: ManagedPeer::external("kafka"),
                };
                kafka.wait_for_metadata(START_TIMEOUT)?;
                Ok(kafka)
            }
            None => Kafka::start(),
        })
        .as_ref()
        .map_err(Clone::clone)
    }

    /// Formats fresh storage and starts a broker on two free loopback ports (client and
    /// controller); returns once it logged that it started.
    pub fn start() -> Result<Kafka> {
        fetch::require_java()?;
        let lib = fetch::kafka_lib()?;
        let port = free_port()?;
        let controller = free_port()?;
        let dir = fetch::run_dir().join(format!("kafka-{port}"));
        let data = dir.join("data");
        std::fs::create_dir_all(&data)
            .map_err(|e| HarnessError::io(format_args!("creating {}", data.display()), e))?;
        let config = dir.join("server.properties");
        std::fs::write(&config, server_properties(port, controller, &data))
            .map_err(|e| HarnessError::io(format_args!("writing {}", config.display()), e))?;
        let log4j = format!(
            "-Dlog4j.configuration=file:{}",
            fetch::recipe_dir()
                .join("kafka")
                .join("log4j.properties")
                .display()
        );
        let classpath = format!("{}/*", lib.display());
        let jvm = |heap: &str| -> Vec<String> {
            vec![
                "-Xms32m".into(),
                format!("-Xmx{heap}"),
                "-XX:+UseSerialGC".into(),
                "-XX:TieredStopAtLevel=1".into(),
                "-XX:+ExitOnOutOfMemoryError".into(),
                "-Djava.awt.headless=true".into(),
                log4j.clone(),
                "-cp".into(),
                classpath.clone(),
            ]
        };
        let mut format_args = jvm("128m");
        format_args.extend([
            "kafka.tools.StorageTool".into(),
            "format".into(),
            "-t".into(),
            cluster_id(),
            "-c".into(),
            config.display().to_string(),
            "--ignore-formatted".into(),
        ]);
        run_tool(
            &Launch {
                name: "kafka-storage-format".into(),
                program: "java".into(),
                args: format_args,
                env: Vec::new(),
                env_remove: vec!["KAFKA_OPTS".into(), "KAFKA_HEAP_OPTS".into()],
                dir: Some(dir.clone()),
                log: dir.join("format.log"),
                grace: Duration::from_secs(2),
            },
            Duration::from_secs(120),
        )?;
        let mut args = jvm("256m");
        args.extend(["kafka.Kafka".into(), config.display().to_string()]);
        let launch = Launch {
            name: "kafka".into(),
            program: "java".into(),
            args,
            env: Vec::new(),
            env_remove: vec!["KAFKA_OPTS".into(), "KAFKA_HEAP_OPTS".into()],
            dir: Some(dir.clone()),
            log: dir.join("kafka.log"),
            grace: Duration::from_secs(30),
        };
        let kafka = Kafka {
            bootstrap: format!("127.0.0.1:{port}"),
            peer: ManagedPeer::launched(
                "kafka",
                launch,
                Some(ReadyLine {
                    needle: READY_LINE,
                    timeout: START_TIMEOUT,
                }),
            ),
        };
        kafka.start_again()?;
        Ok(kafka)
    }

    /// `host:port` to give clients.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// True when the broker was not started by the harness.
    pub fn is_external(&self) -> bool {
        self.peer.is_external()
    }

    /// Access for a test that only produces and checks.
    pub fn shared_access(&self) -> RwLockReadGuard<'_, ()> {
        self.peer.shared_access()
    }

    /// Access for a test that stops the broker.
    pub fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.peer.exclusive()
    }

    /// Stops the broker (a controlled shutdown on `SIGTERM`; `SIGKILL` after 30 s) and waits
    /// until it is gone, or runs `$INTEGRATION_PEER_CONTROL stop kafka`. Its data stays.
    pub fn stop(&self) -> Result<()> {
        self.peer.stop()
    }

    /// Starts the broker again with the same ports and data (or runs `... start kafka`) and
    /// waits until it is up and serves metadata.
    pub fn start_again(&self) -> Result<()> {
        self.peer.start_again()?;
        self.wait_for_metadata(START_TIMEOUT)
    }

    fn admin(&self) -> Result<AdminClient<DefaultClientContext>> {
        ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("broker.address.family", "v4")
            .create()
            .map_err(|e| HarnessError::Peer(format!("Kafka admin client: {e}")))
    }

    /// Waits until the broker answers a metadata request.
    pub fn wait_for_metadata(&self, timeout: Duration) -> Result<()> {
        let admin = self.admin()?;
        wait_until(
            &format!("Kafka at {} to answer metadata requests", self.bootstrap),
            timeout,
            || match admin
                .inner()
                .fetch_metadata(None, Timeout::After(Duration::from_secs(2)))
            {
                Ok(m) if !m.brokers().is_empty() => Ok(()),
                Ok(_) => Err("no brokers in the metadata".to_owned()),
                Err(e) => Err(e.to_string()),
            },
        )
    }

    /// Creates a topic (an existing one is fine) and waits until its partitions have leaders.
    pub fn create_topic(&self, topic: &str, partitions: i32) -> Result<()> {
        let admin = self.admin()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| HarnessError::io("building a runtime for the Kafka admin client", e))?;
        let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let results = rt
            .block_on(admin.create_topics([&new], &opts))
            .map_err(|e| HarnessError::Peer(format!("creating Kafka topic {topic}: {e}")))?;
        for r in results {
            match r {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((t, code)) => {
                    return Err(HarnessError::Peer(format!(
                        "creating Kafka topic {t}: {code}"
                    )))
                }
            }
        }
        wait_until(
            &format!("Kafka topic {topic} to have leaders"),
            Duration::from_secs(60),
            || {
                let m = admin
                    .inner()
                    .fetch_metadata(Some(topic), Timeout::After(Duration::from_secs(2)))
                    .map_err(|e| e.to_string())?;
                let t = m
                    .topics()
                    .iter()
                    .find(|t| t.name() == topic)
                    .ok_or_else(|| "topic not in metadata".to_owned())?;
                if t.error().is_none()
                    && !t.partitions().is_empty()
                    && t.partitions().iter().all(|p| p.leader() >= 0)
                {
                    Ok(())
                } else {
                    Err(format!("topic error {:?}", t.error()))
                }
            },
        )
    }
}

/// One combined broker/controller node on loopback, with the single-node settings (replication
/// factor 1, no rebalance delay).
fn server_properties(port: u16, controller: u16, data: &Path) -> String {
    format!(
        "process.roles=broker,controller\n\
         node.id=1\n\
         controller.quorum.voters=1@127.0.0.1:{controller}\n\
         listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}\n\
         advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n\
         inter.broker.listener.name=PLAINTEXT\n\
         controller.listener.names=CONTROLLER\n\
         listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n\
         log.dirs={}\n\
         num.partitions=1\n\
         auto.create.topics.enable=true\n\
         offsets.topic.replication.factor=1\n\
         offsets.topic.num.partitions=1\n\
         transaction.state.log.replication.factor=1\n\
         transaction.state.log.min.isr=1\n\
         group.initial.rebalance.delay.ms=0\n",
        data.display()
    )
}

/// A random Kafka cluster id: 16 random bytes in URL-safe base64 without padding (22
/// characters), not starting with `-` (which the CLI would read as an option).
fn cluster_id() -> String {
    loop {
        let mut bytes = [0u8; 16];
        for chunk in bytes.chunks_mut(8) {
            let mut h = RandomState::new().build_hasher();
            h.write_u64(u64::from(std::process::id()));
            let v = h.finish().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        let id = crate::base64::encode_url_no_pad(&bytes);
        if !id.starts_with('-') {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_ids_are_22_url_safe_chars() {
        for _ in 0..50 {
            let id = cluster_id();
            assert_eq!(id.len(), 22, "{id}");
            assert!(!id.starts_with('-'));
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
        assert_ne!(cluster_id(), cluster_id());
    }

    #[test]
    fn properties_bind_loopback_only() {
        let p = server_properties(19092, 19093, Path::new("/data"));
        assert!(p.contains("listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"));
        assert!(p.contains("controller.quorum.voters=1@127.0.0.1:19093"));
        assert!(p.contains("log.dirs=/data\n"));
    }
}
