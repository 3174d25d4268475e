//! What infra knows about software that keeps state, as two tables: images
//! (where a server keeps its data, and which environment variables and
//! flags move it) and custom resources whose operator keeps a database (the
//! resource *is* the data). [`crate::state`] reads them for the build's
//! storage warning and for every data-loss rule of `plan`.
//!
//! A row names a class of deployments, never one chart: an image by the
//! last part of its repository (any registry, organisation, tag or digest;
//! Bitnami's rebuilds keep data under `/bitnami/<app>` and are told apart by
//! the organisation), a resource by API group and kind.

/// A server that keeps its data on disk.
pub struct Software {
    /// For messages: "Grafana".
    pub name: &'static str,
    /// Image repository names (the last path component): `grafana`,
    /// `grafana-oss`.
    pub images: &'static [&'static str],
    /// Where the official image keeps its data, most usual first.
    pub data_dirs: &'static [&'static str],
    /// Where Bitnami's image of it keeps its data.
    pub bitnami_dirs: &'static [&'static str],
    /// Environment variables that set the data directory (or a list of
    /// them, comma-separated, as Kafka's `log.dirs`).
    pub env: &'static [&'static str],
    /// Command-line flags that set it (`--storage.tsdb.path=/data` or
    /// `--storage.tsdb.path /data`).
    pub flags: &'static [&'static str],
    /// A word after which the data directory is the next argument
    /// (`minio server /export`).
    pub after: Option<&'static str>,
    /// Environment values with which the server keeps no data (a MongoDB
    /// arbiter).
    pub no_data_when: &'static [(&'static str, &'static str)],
    /// What to do before a change that loses the data.
    pub rescue: &'static str,
}

const COPY: &str = "copy the data off the pod (`kubectl cp`, or the software's own backup), then change it";

/// Image organisations whose images are Bitnami's rebuilds.
pub const BITNAMI: &[&str] = &["bitnami", "bitnamilegacy", "bitnamisecure", "bitnamicharts"];

macro_rules! software {
    ($($name:literal: images [$($i:literal),*] dirs [$($d:literal),*] bitnami [$($b:literal),*]
       env [$($e:literal),*] flags [$($f:literal),*] $(after $a:literal)? $(no_data_when [$(($k:literal, $v:literal)),*])?
       rescue $r:expr;)*) => {
        &[$(Software {
            name: $name,
            images: &[$($i),*],
            data_dirs: &[$($d),*],
            bitnami_dirs: &[$($b),*],
            env: &[$($e),*],
            flags: &[$($f),*],
            after: software!(@after $($a)?),
            no_data_when: &[$($(($k, $v)),*)?],
            rescue: $r,
        }),*]
    };
    (@after) => { None };
    (@after $a:literal) => { Some($a) };
}

/// Servers with state, by image. Sources: each image's documentation and
/// Dockerfile (`VOLUME`, `WORKDIR`, entrypoint flags), and Bitnami's
/// container READMEs ("Persisting your data").
pub const SOFTWARE: &[Software] = software! {
    "Grafana": images ["grafana", "grafana-oss", "grafana-enterprise"] dirs ["/var/lib/grafana"]
        bitnami ["/opt/bitnami/grafana/data"] env ["GF_PATHS_DATA"] flags []
        rescue "save the dashboards as code (`infra import --grafana URL --into DIR`), then add storage in a separate change";
    "Prometheus": images ["prometheus"] dirs ["/prometheus"] bitnami ["/opt/bitnami/prometheus/data"]
        env [] flags ["--storage.tsdb.path"]
        rescue "take a TSDB snapshot (`/api/v1/admin/tsdb/snapshot`), or accept losing the history";
    "Alertmanager": images ["alertmanager"] dirs ["/alertmanager"] bitnami ["/opt/bitnami/alertmanager/data"]
        env [] flags ["--storage.path"] rescue "export the silences (`amtool silence query -o json`)";
    "Loki": images ["loki"] dirs ["/var/loki", "/loki"] bitnami ["/bitnami/grafana-loki"] env [] flags []
        rescue COPY;
    "Tempo": images ["tempo"] dirs ["/var/tempo"] bitnami ["/bitnami/grafana-tempo"] env [] flags [] rescue COPY;
    "Mimir": images ["mimir"] dirs ["/data"] bitnami ["/bitnami/grafana-mimir"] env [] flags [] rescue COPY;
    "Thanos": images ["thanos"] dirs ["/var/thanos"] bitnami ["/bitnami/thanos"] env [] flags ["--data-dir", "--tsdb.path"]
        rescue COPY;
    "VictoriaMetrics": images ["victoria-metrics", "victoria-logs"] dirs ["/victoria-metrics-data", "/victoria-logs-data"]
        bitnami [] env [] flags ["-storageDataPath", "--storageDataPath"] rescue COPY;
    "PostgreSQL": images ["postgres", "postgresql", "postgresql-repmgr", "postgis", "timescaledb", "timescaledb-ha", "pgvector"]
        dirs ["/var/lib/postgresql/data", "/var/lib/postgresql"] bitnami ["/bitnami/postgresql"]
        env ["PGDATA", "POSTGRESQL_DATA_DIR", "POSTGRESQL_VOLUME_DIR"] flags ["-D"]
        rescue "back the database up (`pg_dump`), then change it";
    "MySQL": images ["mysql", "percona-server"] dirs ["/var/lib/mysql"] bitnami ["/bitnami/mysql"]
        env [] flags ["--datadir"] rescue "back the database up (`mysqldump`), then change it";
    "MariaDB": images ["mariadb", "mariadb-galera"] dirs ["/var/lib/mysql"] bitnami ["/bitnami/mariadb"]
        env [] flags ["--datadir"] rescue "back the database up (`mariadb-dump`), then change it";
    "Redis": images ["redis", "redis-stack-server", "valkey", "keydb", "redis-cluster", "valkey-cluster"]
        dirs ["/data"] bitnami ["/bitnami/redis/data", "/bitnami/redis-cluster/data", "/bitnami/valkey/data", "/data"]
        env [] flags ["--dir"] rescue "save a snapshot (`redis-cli --rdb`), then change it";
    "MongoDB": images ["mongo", "mongodb", "mongodb-community-server", "percona-server-mongodb"] dirs ["/data/db"]
        bitnami ["/bitnami/mongodb"] env [] flags ["--dbpath"] no_data_when [("MONGODB_REPLICA_SET_MODE", "arbiter")]
        rescue "back the database up (`mongodump`), then change it";
    "Elasticsearch": images ["elasticsearch", "opensearch"]
        dirs ["/usr/share/elasticsearch/data", "/usr/share/opensearch/data"] bitnami ["/bitnami/elasticsearch/data", "/bitnami/opensearch/data"]
        env ["path.data"] flags [] rescue "take a snapshot (the `_snapshot` API), then change it";
    "InfluxDB": images ["influxdb"] dirs ["/var/lib/influxdb2", "/var/lib/influxdb"] bitnami ["/bitnami/influxdb"]
        env ["INFLUXD_BOLT_PATH", "INFLUXD_ENGINE_PATH"] flags ["--bolt-path", "--engine-path"]
        rescue "back it up (`influx backup`), then change it";
    "MinIO": images ["minio"] dirs ["/data", "/export"] bitnami ["/bitnami/minio/data"]
        env ["MINIO_DATA_DIR", "MINIO_VOLUMES"] flags [] after "server"
        rescue "mirror the buckets (`mc mirror`), then change it";
    "Kafka": images ["kafka", "cp-kafka", "cp-server"] dirs ["/var/lib/kafka/data", "/kafka"] bitnami ["/bitnami/kafka"]
        env ["KAFKA_CFG_LOG_DIRS", "KAFKA_LOG_DIRS", "KAFKA_CFG_METADATA_LOG_DIR"] flags [] rescue COPY;
    "ZooKeeper": images ["zookeeper", "cp-zookeeper"] dirs ["/data", "/var/lib/zookeeper"] bitnami ["/bitnami/zookeeper"]
        env ["ZOO_DATA_DIR"] flags [] rescue COPY;
    "etcd": images ["etcd"] dirs ["/var/lib/etcd", "/etcd-data"] bitnami ["/bitnami/etcd"] env ["ETCD_DATA_DIR"]
        flags ["--data-dir"] rescue "take a snapshot (`etcdctl snapshot save`), then change it";
    "Consul": images ["consul"] dirs ["/consul/data"] bitnami ["/bitnami/consul"] env [] flags ["-data-dir", "--data-dir"]
        rescue "take a snapshot (`consul snapshot save`), then change it";
    "Vault": images ["vault", "openbao"] dirs ["/vault/data", "/openbao/data"] bitnami ["/bitnami/vault"] env [] flags []
        rescue "take a snapshot (`vault operator raft snapshot save`, or copy the file storage)";
    "NATS": images ["nats"] dirs ["/data"] bitnami ["/bitnami/nats"] env [] flags ["-sd", "--store_dir"] rescue COPY;
    "RabbitMQ": images ["rabbitmq"] dirs ["/var/lib/rabbitmq"]
        bitnami ["/bitnami/rabbitmq/mnesia", "/opt/bitnami/rabbitmq/var/lib/rabbitmq"]
        env ["RABBITMQ_MNESIA_DIR", "RABBITMQ_MNESIA_BASE"] flags []
        rescue "export the definitions and drain the queues, then change it";
    "Cassandra": images ["cassandra"] dirs ["/var/lib/cassandra"] bitnami ["/bitnami/cassandra"] env [] flags []
        rescue "take a snapshot (`nodetool snapshot`), then change it";
    "ClickHouse": images ["clickhouse-server", "clickhouse"] dirs ["/var/lib/clickhouse"] bitnami ["/bitnami/clickhouse"]
        env [] flags [] rescue COPY;
    "Jenkins": images ["jenkins"] dirs ["/var/jenkins_home"] bitnami ["/bitnami/jenkins"] env ["JENKINS_HOME"] flags []
        rescue "back up JENKINS_HOME, then change it";
    "Gitea": images ["gitea", "forgejo"] dirs ["/data", "/var/lib/gitea"] bitnami ["/bitnami/gitea"] env ["GITEA_WORK_DIR"]
        flags [] rescue "back it up (`gitea dump`), then change it";
    "Nextcloud": images ["nextcloud"] dirs ["/var/www/html"] bitnami [] env [] flags []
        rescue "back up the data folder and the database, then change it";
    "SonarQube": images ["sonarqube"] dirs ["/opt/sonarqube/data"] bitnami ["/bitnami/sonarqube"] env [] flags [] rescue COPY;
    "Uptime Kuma": images ["uptime-kuma"] dirs ["/app/data"] bitnami [] env [] flags [] rescue COPY;
};

/// A custom resource whose operator keeps a database: deleting it, or
/// changing its identity, makes the operator delete the data; its storage
/// spec says whether the data is on claims.
pub struct DataResource {
    pub group: &'static str,
    pub kinds: &'static [&'static str],
    /// For messages: "CloudNativePG".
    pub operator: &'static str,
    /// Where the resource's storage is declared, and what makes it
    /// ephemeral. Empty: always on claims.
    pub storage: &'static [StorageSpec],
}

/// One storage declaration of a data-bearing resource.
pub struct StorageSpec {
    /// The path to it; `*` steps into every item of a list.
    pub path: &'static [&'static str],
    pub ephemeral: Ephemeral,
}

/// What makes a storage declaration ephemeral.
#[derive(Clone, Copy)]
pub enum Ephemeral {
    /// Absent, or holding an `emptyDir` (prometheus-operator's `storage`).
    AbsentOrEmptyDir,
    /// `type: ephemeral` (Strimzi).
    TypeEphemeral,
    /// Absent, or a size of zero at this key (RabbitMQ's `persistence.storage`).
    AbsentOrZero(&'static str),
    /// A pod volume of this name is an `emptyDir` (ECK's `elasticsearch-data`).
    EmptyDirVolume(&'static str),
}

pub const DATA_RESOURCES: &[DataResource] = &[
    DataResource {
        group: "monitoring.coreos.com",
        kinds: &["Prometheus", "Alertmanager", "ThanosRuler", "PrometheusAgent"],
        operator: "prometheus-operator",
        storage: &[StorageSpec { path: &["spec", "storage"], ephemeral: Ephemeral::AbsentOrEmptyDir }],
    },
    DataResource { group: "postgresql.cnpg.io", kinds: &["Cluster"], operator: "CloudNativePG", storage: &[] },
    DataResource {
        group: "postgres-operator.crunchydata.com",
        kinds: &["PostgresCluster"],
        operator: "Crunchy PGO",
        storage: &[],
    },
    DataResource {
        group: "acid.zalan.do",
        kinds: &["postgresql"],
        operator: "Zalando postgres-operator",
        storage: &[],
    },
    DataResource {
        group: "kafka.strimzi.io",
        kinds: &["Kafka", "KafkaNodePool"],
        operator: "Strimzi",
        storage: &[
            StorageSpec { path: &["spec", "kafka", "storage"], ephemeral: Ephemeral::TypeEphemeral },
            StorageSpec { path: &["spec", "zookeeper", "storage"], ephemeral: Ephemeral::TypeEphemeral },
            StorageSpec { path: &["spec", "storage"], ephemeral: Ephemeral::TypeEphemeral },
        ],
    },
    DataResource {
        group: "elasticsearch.k8s.elastic.co",
        kinds: &["Elasticsearch"],
        operator: "ECK",
        storage: &[StorageSpec {
            path: &["spec", "nodeSets", "*", "podTemplate", "spec", "volumes"],
            ephemeral: Ephemeral::EmptyDirVolume("elasticsearch-data"),
        }],
    },
    DataResource {
        group: "opensearch.opster.io",
        kinds: &["OpenSearchCluster"],
        operator: "OpenSearch operator",
        storage: &[],
    },
    DataResource {
        group: "mongodbcommunity.mongodb.com",
        kinds: &["MongoDBCommunity"],
        operator: "MongoDB Community operator",
        storage: &[],
    },
    DataResource { group: "psmdb.percona.com", kinds: &["PerconaServerMongoDB"], operator: "Percona", storage: &[] },
    DataResource { group: "pxc.percona.com", kinds: &["PerconaXtraDBCluster"], operator: "Percona", storage: &[] },
    DataResource { group: "pgv2.percona.com", kinds: &["PerconaPGCluster"], operator: "Percona", storage: &[] },
    DataResource {
        group: "k8s.mariadb.com",
        kinds: &["MariaDB", "MaxScale"],
        operator: "mariadb-operator",
        storage: &[],
    },
    DataResource {
        group: "rabbitmq.com",
        kinds: &["RabbitmqCluster"],
        operator: "RabbitMQ cluster operator",
        storage: &[StorageSpec { path: &["spec", "persistence"], ephemeral: Ephemeral::AbsentOrZero("storage") }],
    },
    DataResource {
        group: "redis.redis.opstreelabs.in",
        kinds: &["Redis", "RedisCluster", "RedisReplication"],
        operator: "OT redis-operator",
        storage: &[StorageSpec { path: &["spec", "storage"], ephemeral: Ephemeral::AbsentOrEmptyDir }],
    },
    DataResource {
        group: "redis.kun",
        kinds: &["DistributedRedisCluster"],
        operator: "redis-cluster-operator",
        storage: &[StorageSpec { path: &["spec", "storage"], ephemeral: Ephemeral::AbsentOrEmptyDir }],
    },
    DataResource {
        group: "databases.spotahome.com",
        kinds: &["RedisFailover"],
        operator: "Spotahome redis-operator",
        storage: &[StorageSpec { path: &["spec", "redis", "storage"], ephemeral: Ephemeral::AbsentOrEmptyDir }],
    },
    DataResource { group: "minio.min.io", kinds: &["Tenant"], operator: "MinIO operator", storage: &[] },
    DataResource {
        group: "operator.victoriametrics.com",
        kinds: &["VMSingle", "VMCluster", "VLogs", "VLSingle"],
        operator: "VictoriaMetrics operator",
        storage: &[],
    },
    DataResource {
        group: "clickhouse.altinity.com",
        kinds: &["ClickHouseInstallation"],
        operator: "Altinity",
        storage: &[],
    },
    DataResource {
        group: "cassandra.datastax.com",
        kinds: &["CassandraDatacenter"],
        operator: "cass-operator",
        storage: &[],
    },
    DataResource {
        group: "etcd.database.coreos.com",
        kinds: &["EtcdCluster"],
        operator: "etcd-operator",
        storage: &[],
    },
];

/// The repository path of an image, split: registry and organisation
/// parts, and the name (`docker.io/bitnami/postgresql:16` → `["docker.io",
/// "bitnami"]`, `postgresql`).
fn repository(image: &str) -> (Vec<&str>, &str) {
    let name = crate::workloads::image_parts(image).0;
    let mut parts: Vec<&str> = name.split('/').collect();
    let last = parts.pop().unwrap_or_default();
    (parts, last)
}

/// The software an image runs, and whether it is Bitnami's rebuild.
pub fn software_of(image: &str) -> Option<(&'static Software, bool)> {
    let (orgs, name) = repository(image);
    let row = SOFTWARE.iter().find(|s| s.images.contains(&name))?;
    Some((row, orgs.iter().any(|o| BITNAMI.contains(o))))
}

/// The row of a data-bearing custom resource, by its API group and kind.
pub fn data_resource(group: &str, kind: &str) -> Option<&'static DataResource> {
    DATA_RESOURCES.iter().find(|r| r.group == group && r.kinds.contains(&kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_known_across_registries_and_vendors() {
        let name = |i: &str| software_of(i).map(|(s, b)| (s.name, b));
        assert_eq!(name("docker.io/grafana/grafana:11.3.0"), Some(("Grafana", false)));
        assert_eq!(name("registry-1.docker.io/bitnami/postgresql:16@sha256:ab"), Some(("PostgreSQL", true)));
        assert_eq!(name("docker.io/bitnamilegacy/redis:7.2"), Some(("Redis", true)));
        assert_eq!(name("quay.io/prometheus/prometheus:v2.54.1"), Some(("Prometheus", false)));
        assert_eq!(name("localhost:5000/postgres"), Some(("PostgreSQL", false)));
        // Not the server: exporters, sidecars, tools.
        for i in [
            "quay.io/prometheus/node-exporter:v1",
            "bitnami/redis-exporter",
            "grafana/grafana-image-renderer",
            "bitnami/os-shell",
        ] {
            assert_eq!(name(i), None, "{i}");
        }
    }

    #[test]
    fn every_row_is_complete() {
        for s in SOFTWARE {
            assert!(!s.images.is_empty() && !s.data_dirs.is_empty() && !s.rescue.is_empty(), "{}", s.name);
            assert!(s.data_dirs.iter().chain(s.bitnami_dirs).all(|d| d.starts_with('/')), "{}", s.name);
        }
        for r in DATA_RESOURCES {
            assert!(r.group.contains('.') && !r.kinds.is_empty(), "{}", r.operator);
        }
    }
}
