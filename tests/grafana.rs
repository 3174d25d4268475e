//! `infra import --grafana` and `infra plan --grafana`, against a local HTTP
//! server that answers like Grafana's HTTP API (`/api/search`,
//! `/api/dashboards/uid/<uid>`) with the real dashboards in
//! tests/fixtures/dashboards. No Grafana server can run on the test
//! machines; the shapes follow Grafana's HTTP API documentation.

use crate::common;

use common::{TempDir, infra_env, root};
use serde_json::{Value as Json, json};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread;

const TOKEN: &str = "glsa_test_token";

#[derive(Clone, Copy)]
enum Behaviour {
    Grafana,
    /// Grafana, with uids and folders that read as paths out of the project.
    HostileNames,
    NotJson,
    Silent,
    /// Headers, then one byte every 200 ms: only an overall deadline ends it.
    Trickle,
    /// A chunk size that overflows every integer type.
    HugeChunk,
    /// An error page that echoes the request, token included.
    EchoRequest,
    /// Six megabytes of empty objects: small as text, gigabytes parsed.
    TinyObjects,
}

/// `%XX` escapes decoded, as a web server does with a request path.
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&path[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Serves the API on a local port until the test ends; returns its URL.
fn serve(behaviour: Behaviour) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let dashboards: Vec<(String, String, Json)> =
        ["kps--etcd.json", "kps--nodes.json", "rfmoz--node-exporter-full.json", "dotdc--k8s-views-pods.json"]
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let model: Json = serde_json::from_str(
                    &std::fs::read_to_string(root().join("tests/fixtures/dashboards").join(f)).unwrap(),
                )
                .unwrap();
                let folder = if i < 2 { "Kubernetes" } else { "Hand Made" };
                if matches!(behaviour, Behaviour::HostileNames) {
                    // The first and third make one file name in one folder.
                    let uid = ["../../../../escaped", "/tmp/abs", "Escaped!", &"x".repeat(300)][i].to_string();
                    return (uid, ["../..", "/etc", "..", "ok"][i].to_string(), model);
                }
                (model["uid"].as_str().unwrap().to_string(), folder.to_string(), model)
            })
            .collect();
    thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            let mut auth = false;
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
                if line.to_ascii_lowercase().starts_with("authorization: bearer ") && line.trim().ends_with(TOKEN) {
                    auth = true;
                }
                if request.is_empty() {
                    request = line;
                }
            }
            let path = percent_decode(request.split_whitespace().nth(1).unwrap_or("/"));
            let (status, body) = match behaviour {
                Behaviour::Trickle => {
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
                    for _ in 0..100 {
                        if stream.write_all(b" ").is_err() {
                            break;
                        }
                        thread::sleep(std::time::Duration::from_millis(200));
                    }
                    continue;
                }
                Behaviour::HugeChunk => {
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n[1]\r\n0\r\n\r\n");
                    continue;
                }
                Behaviour::EchoRequest => (500, format!("bad request: {head}")),
                Behaviour::TinyObjects => (200, format!("[{}{{}}]", "{},".repeat(2_000_000))),
                Behaviour::Silent => {
                    thread::sleep(std::time::Duration::from_secs(3));
                    continue;
                }
                Behaviour::NotJson => (200, "<html>login</html>".to_string()),
                Behaviour::Grafana | Behaviour::HostileNames if !auth => (401, json!({"message": "Unauthorized"}).to_string()),
                Behaviour::Grafana | Behaviour::HostileNames if path.starts_with("/api/search") => (
                    200,
                    Json::Array(
                        dashboards
                            .iter()
                            .map(|(uid, folder, model)| json!({"uid": uid, "title": model["title"], "type": "dash-db", "folderTitle": folder}))
                            .collect(),
                    )
                    .to_string(),
                ),
                Behaviour::Grafana | Behaviour::HostileNames => match dashboards.iter().find(|(uid, ..)| path == format!("/api/dashboards/uid/{uid}")) {
                    Some((_, folder, model)) => (200, json!({"dashboard": model, "meta": {"folderTitle": folder}}).to_string()),
                    None => (404, json!({"message": "Dashboard not found"}).to_string()),
                },
            };
            // Large answers are chunked, as Grafana's are.
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            );
            let mut out = head.into_bytes();
            for chunk in body.as_bytes().chunks(4096) {
                out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
            let _ = stream.write_all(&out);
        }
    });
    url
}

#[test]
fn dashboards_are_rescued_into_a_project_that_builds() {
    let url = serve(Behaviour::Grafana);
    let dir = TempDir::new("rescue");
    let project = dir.join("homelab");
    let run =
        infra_env(&["import", "--grafana", &url, "--into", project.to_str().unwrap()], &[("GRAFANA_TOKEN", TOKEN)]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stderr.contains("saved 4 dashboards of 4 into a new project"), "{}", run.stderr);
    for (file, fixture) in [
        ("kubernetes/c2f4e12cdf69feb95caa41a5a1b423d9.json", "kps--etcd.json"),
        ("hand-made/rYdddlPWk.json", "rfmoz--node-exporter-full.json"),
    ] {
        let saved: Json =
            serde_json::from_str(&std::fs::read_to_string(project.join("dashboards").join(file)).unwrap()).unwrap();
        let original: Json = serde_json::from_str(
            &std::fs::read_to_string(root().join("tests/fixtures/dashboards").join(fixture)).unwrap(),
        )
        .unwrap();
        assert_eq!(saved, original, "{file}");
    }
    let infra_yaml = std::fs::read_to_string(project.join("infra.yaml")).unwrap();
    assert!(infra_yaml.contains("  - files: dashboards/hand-made/*.json\n    folder: Hand Made\n"), "{infra_yaml}");
    let build = infra_env(&["build", project.to_str().unwrap(), "-o", "-"], &[]);
    assert_eq!(build.code, 0, "{}", build.transcript());
    assert_eq!(build.stdout.matches("grafana_dashboard: '1'").count(), 4);
    assert!(build.stdout.contains("grafana_folder: Hand Made"), "{}", build.stdout);

    // Running again keeps what is there.
    let again =
        infra_env(&["import", "--grafana", &url, "--into", project.to_str().unwrap()], &[("GRAFANA_TOKEN", TOKEN)]);
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert!(again.stderr.contains("saved 0 new dashboards of 4"), "{}", again.stderr);

    // plan --grafana lists what exists only in Grafana.
    std::fs::remove_file(project.join("dashboards/hand-made/rYdddlPWk.json")).unwrap();
    let plan = infra_env(
        &["plan", project.to_str().unwrap(), "--grafana", &url, "--format", "json"],
        &[("GRAFANA_TOKEN", TOKEN)],
    );
    let plan: Json = serde_json::from_str(&plan.stdout).unwrap();
    let unmanaged: Vec<&str> =
        plan["unmanaged"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(unmanaged, ["rYdddlPWk"]);
    assert!(plan["unmanaged"][0]["note"].as_str().unwrap().contains("\"Node Exporter Full\" exists only in Grafana"));
}

#[test]
fn hostile_uids_and_folders_stay_inside_the_project() {
    let url = serve(Behaviour::HostileNames);
    let dir = TempDir::new("hostile-grafana");
    dir.write("outside/victim", "precious\n");
    let project = dir.join("deep/homelab");
    let with_password = url.replace("http://", "http://admin:hunter2@");
    let run = infra_env(
        &["import", "--grafana", &with_password, "--into", project.to_str().unwrap()],
        &[("GRAFANA_TOKEN", TOKEN)],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    // The project names the Grafana, never its password.
    let infra_yaml = std::fs::read_to_string(project.join("infra.yaml")).unwrap();
    assert!(infra_yaml.contains("admin:(password)@") && !infra_yaml.contains("hunter2"), "{infra_yaml}");
    let everything = common::snapshot(dir.path());
    let files: Vec<&str> = everything.iter().map(|(p, _)| p.as_str()).filter(|p| p.ends_with(".json")).collect();
    assert_eq!(files.len(), 4, "{files:?}");
    assert!(files.iter().all(|f| f.starts_with("deep/homelab/dashboards/")), "{files:?}");
    assert!(everything.iter().all(|(p, _)| p.starts_with("deep") || p.starts_with("outside")), "{everything:?}");
    assert_eq!(std::fs::read_to_string(dir.join("outside/victim")).unwrap(), "precious\n");
    // A symbolic link inside the project is not written through.
    let linked = dir.join("linked");
    std::fs::create_dir_all(linked.join("dashboards")).unwrap();
    std::os::unix::fs::symlink(dir.join("outside"), linked.join("dashboards/ok")).unwrap();
    let run =
        infra_env(&["import", "--grafana", &url, "--into", linked.to_str().unwrap()], &[("GRAFANA_TOKEN", TOKEN)]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("is a symbolic link, not a folder; nothing is written through it"), "{}", run.stderr);
    assert_eq!(common::snapshot(&dir.join("outside")), vec![("victim".into(), "precious\n".into())]);
}

#[test]
fn bad_token_is_a_clear_error() {
    let url = serve(Behaviour::Grafana);
    let dir = TempDir::new("auth");
    let run = infra_env(
        &["import", "--grafana", &url, "--into", dir.join("p").to_str().unwrap()],
        &[("GRAFANA_TOKEN", "wrong")],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("Grafana refused the request (401); set GRAFANA_TOKEN"), "{}", run.stderr);
}

#[test]
fn non_json_answers_and_timeouts_are_clear_errors() {
    let url = serve(Behaviour::NotJson);
    let dir = TempDir::new("notjson");
    let run = infra_env(&["import", "--grafana", &url, "--into", dir.join("p").to_str().unwrap()], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("the answer is not JSON"), "{}", run.stderr);
    assert!(run.stderr.contains("is this Grafana?"), "{}", run.stderr);

    let url = serve(Behaviour::Silent);
    let run = infra_env(
        &["import", "--grafana", &url, "--into", dir.join("q").to_str().unwrap()],
        &[("INFRA_HTTP_TIMEOUT", "1")],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no answer within 1 s"), "{}", run.stderr);

    // https is spoken (here to a port where nothing listens).
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let run = infra_env(
        &["import", "--grafana", &format!("https://{closed}"), "--into", dir.join("r").to_str().unwrap()],
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("error[C010]") && run.stderr.contains("cannot connect"), "{}", run.stderr);
    let run = infra_env(
        &["import", "--grafana", &url, "--into", dir.join("s").to_str().unwrap()],
        &[("INFRA_HTTP_TIMEOUT", "0")],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("INFRA_HTTP_TIMEOUT is \"0\"; it is a whole number of seconds from 1 to 86400"),
        "{}",
        run.stderr
    );
}

#[test]
fn hostile_servers_end_with_clear_errors() {
    let dir = TempDir::new("hostile-server");
    // A trickle is cut by the overall deadline, not served forever.
    let url = serve(Behaviour::Trickle);
    let start = std::time::Instant::now();
    let run = infra_env(
        &["import", "--grafana", &url, "--into", dir.join("a").to_str().unwrap()],
        &[("INFRA_HTTP_TIMEOUT", "2")],
    );
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(start.elapsed() < std::time::Duration::from_secs(8), "{:?}", start.elapsed());
    assert!(run.stderr.contains("no answer within 2 s"), "{}", run.stderr);
    // An impossible chunk size is an error, not a crash.
    let url = serve(Behaviour::HugeChunk);
    let run = infra_env(&["import", "--grafana", &url, "--into", dir.join("b").to_str().unwrap()], &[]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("error[C010]") && !run.stderr.contains("panicked"), "{}", run.stderr);
    // Tiny JSON values are counted before they are parsed (6 MB of them
    // took gigabytes); under a 1 GiB limit, a clear error.
    let url = serve(Behaviour::TinyObjects);
    let run = common::infra_bounded(&["import", "--grafana", &url, "--into", dir.join("t").to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("the JSON holds more than 1000000 values"), "{}", run.stderr);
    // Neither the token nor the URL's password is ever printed.
    let url = serve(Behaviour::EchoRequest);
    let with_password = url.replace("http://", "http://admin:hunter2@");
    let run = infra_env(
        &["import", "--grafana", &with_password, "--into", dir.join("c").to_str().unwrap()],
        &[("GRAFANA_TOKEN", TOKEN)],
    );
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("HTTP 500"), "{}", run.stderr);
    assert!(!run.stderr.contains(TOKEN) && !run.stderr.contains("hunter2"), "{}", run.stderr);
    // Nor the Basic credentials made of the URL's user part.
    assert!(!run.stderr.contains("YWRtaW46aHVudGVyMg"), "{}", run.stderr);
    assert!(run.stderr.contains("(secret)") && run.stderr.contains("admin:(password)@"), "{}", run.stderr);
}

#[test]
fn dashboards_rescued_into_an_imported_project_land_in_its_namespace() {
    let url = serve(Behaviour::Grafana);
    let dir = TempDir::new("rescue-into-import");
    let project = dir.join("grafana");
    let render = root().join("tests/fixtures/helm/grafana-B-no-persistence.yaml");
    let import = infra_env(&["import", render.to_str().unwrap(), "--into", project.to_str().unwrap()], &[]);
    assert_eq!(import.code, 0, "{}", import.transcript());
    let rescue =
        infra_env(&["import", "--grafana", &url, "--into", project.to_str().unwrap()], &[("GRAFANA_TOKEN", TOKEN)]);
    assert_eq!(rescue.code, 0, "{}", rescue.transcript());
    // The entries it prints, added to infra.yaml as they are.
    let (_, listing) = rescue.stderr.split_once("add them to infra.yaml if it does not list them yet:\n").unwrap();
    let mut infra_yaml = std::fs::read_to_string(project.join("infra.yaml")).unwrap();
    infra_yaml.push_str(listing);
    std::fs::write(project.join("infra.yaml"), infra_yaml).unwrap();
    let build = infra_env(&["build", project.to_str().unwrap(), "--strict"], &[]);
    assert_eq!(build.code, 0, "{}", build.transcript());
    assert!(!build.stderr.contains("E142"), "{}", build.stderr);
    let compiled = project.join("compiled/default");
    assert!(
        !compiled
            .join("_cluster")
            .read_dir()
            .unwrap()
            .any(|e| { e.unwrap().file_name().to_string_lossy().starts_with("configmap-") })
    );
    let dashboards = compiled
        .join("monitoring")
        .read_dir()
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("configmap-dashboard"));
    assert_eq!(dashboards.count(), 4);
}
