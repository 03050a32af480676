//! Signed updates, end to end with the real `giftpos` binary: a local update server on
//! loopback serves a release JSON and a package, signed with a minisign key made here
//! (the format `tauri signer` writes). The app's `giftpos update` only reports a newer
//! release; root's `giftpos update apply` downloads it into its own folder, verifies it,
//! and checks that copy before dpkg would install it: a tampered, unsigned or wrongly
//! signed package, or a signed one that is not giftpos, is refused, logged, and nothing
//! is left behind. (Installing with dpkg is `tests/package.sh`'s, as root.)

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_giftpos");

type Routes = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A minimal HTTP/1.1 file server on loopback.
fn serve() -> (String, Routes) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let routes: Routes = Arc::default();
    let r = routes.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let body = r
                .lock()
                .unwrap()
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, b)| b.clone());
            let mut s = stream;
            let _ = match body {
                Some(b) => {
                    let _ = write!(
                        s,
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        b.len()
                    );
                    s.write_all(&b)
                }
                None => s.write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                ),
            };
        }
    });
    (base, routes)
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

struct Key {
    pk: minisign::PublicKey,
    sk: minisign::SecretKey,
}

impl Key {
    fn new() -> Key {
        let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        Key {
            pk: kp.pk,
            sk: kp.sk,
        }
    }

    /// The public key as Tauri writes it: the minisign text, base64.
    fn public(&self) -> String {
        b64(&self.pk.to_box().unwrap().into_string())
    }

    /// A signature as Tauri writes it.
    fn sign(&self, data: &[u8]) -> String {
        let sig = minisign::sign(
            Some(&self.pk),
            &self.sk,
            std::io::Cursor::new(data),
            Some("file:giftpos_9.9.9_amd64.deb"),
            None,
        )
        .unwrap();
        b64(&sig.into_string())
    }
}

fn platform() -> String {
    giftpos_app::update::platform_keys()[0].clone()
}

/// A terminal whose system file points at the update server.
struct Till {
    home: tempfile::TempDir,
}

impl Till {
    fn new(endpoint: &str, pubkey: &str) -> Till {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join("no-system-config.toml"),
            format!("[update]\nendpoint = \"{endpoint}\"\npubkey = \"{pubkey}\"\n"),
        )
        .unwrap();
        Till { home }
    }

    fn cache(&self) -> std::path::PathBuf {
        self.home.path().join("cache")
    }

    fn run(&self, args: &[&str]) -> (i32, Value) {
        let mut cmd = Command::new(BIN);
        common::clean(&mut cmd, self.home.path());
        let out = cmd
            .args(args)
            .arg("--json")
            .env("GIFTPOS_DATA_DIR", self.home.path().join("data"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let v = serde_json::from_str(text.trim())
            .unwrap_or_else(|e| panic!("{e}: {text} / {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code().unwrap_or(-1), v)
    }

    /// What root's timer runs.
    fn apply(&self) -> (i32, Value) {
        let dir = self.cache();
        self.run(&["update", "apply", "--dir", dir.to_str().unwrap()])
    }

    /// What root's folder holds afterwards.
    fn left_behind(&self) -> Vec<String> {
        std::fs::read_dir(self.cache())
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn logs(&self) -> String {
        let dir = self.home.path().join("data/logs");
        let mut all = String::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let mut s = String::new();
            let _ = std::fs::File::open(e.path()).and_then(|mut f| f.read_to_string(&mut s));
            all.push_str(&s);
        }
        all
    }
}

fn publish(routes: &Routes, base: &str, version: &str, package: &[u8], signature: &str) {
    let release = json!({
        "version": version,
        "notes": "test release",
        "pub_date": "2026-11-21T00:00:00Z",
        "platforms": { platform(): { "url": format!("{base}/giftpos_{version}_amd64.deb"), "signature": signature } }
    });
    let mut r = routes.lock().unwrap();
    r.clear();
    r.push(("/latest.json".into(), release.to_string().into_bytes()));
    r.push((format!("/giftpos_{version}_amd64.deb"), package.to_vec()));
}

/// A real Debian package named `name` (dpkg-deb builds it), as bytes.
fn deb(dir: &std::path::Path, name: &str, version: &str) -> Vec<u8> {
    let root = dir.join(format!("{name}-pkg"));
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: test <t@t.invalid>\nDescription: test\n"
        ),
    )
    .unwrap();
    let out = dir.join(format!("{name}.deb"));
    let ok = Command::new("dpkg-deb")
        .args(["-b", "--root-owner-group"])
        .arg(&root)
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success());
    std::fs::read(out).unwrap()
}

#[test]
fn root_installs_only_a_verified_copy_of_its_own_download() {
    let (base, routes) = serve();
    let key = Key::new();
    let till = Till::new(&format!("{base}/latest.json"), &key.public());
    let package = b"!<arch>\ngiftpos 9.9.9 package bytes".repeat(100);

    // The app only reports a newer release: nothing is downloaded.
    publish(&routes, &base, "9.9.9", &package, &key.sign(&package));
    let (code, v) = till.run(&["update"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["result"]["outcome"], "available", "{v}");
    assert_eq!(v["result"]["version"], "9.9.9", "{v}");
    assert!(till.left_behind().is_empty());

    // Tampered: the package changed after it was signed.
    let mut tampered = package.clone();
    tampered[500] ^= 1;
    publish(&routes, &base, "9.9.9", &tampered, &key.sign(&package));
    let (code, v) = till.apply();
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["error"]["code"], "update_refused", "{v}");
    assert!(
        till.left_behind().is_empty(),
        "nothing unverified is written"
    );
    assert!(
        till.logs().contains("update refused"),
        "the refusal is logged"
    );

    // Unsigned, and signed with a key that is not ours.
    for sig in [String::new(), Key::new().sign(&package)] {
        publish(&routes, &base, "9.9.9", &package, &sig);
        let (code, v) = till.apply();
        assert_eq!(
            (code, v["error"]["code"].as_str()),
            (3, Some("update_refused")),
            "{v}"
        );
        assert!(till.left_behind().is_empty());
    }

    // Signed with our key, but not a Debian package: verified, written to root's own
    // folder (0700), read there, refused, removed.
    publish(&routes, &base, "9.9.9", &package, &key.sign(&package));
    let (code, v) = till.apply();
    assert_eq!(code, 3, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a Debian package"),
        "{v}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(till.cache())
        .unwrap()
        .permissions()
        .mode()
        & 0o7777;
    assert_eq!(mode, 0o700, "root's download folder is its own");
    assert!(till.left_behind().is_empty());

    // Signed, a real package, but another one: refused by its name.
    let other = deb(till.home.path(), "giftpos-not-this", "9.9.9");
    publish(&routes, &base, "9.9.9", &other, &key.sign(&other));
    let (code, v) = till.apply();
    assert_eq!(code, 3, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("giftpos-not-this, not giftpos"),
        "{v}"
    );
    assert!(till.left_behind().is_empty());

    // Nothing newer than what runs: nothing is fetched.
    publish(&routes, &base, env!("CARGO_PKG_VERSION"), &tampered, "");
    for args in [
        &["update"][..],
        &["update", "apply", "--dir", till.cache().to_str().unwrap()][..],
    ] {
        let (code, v) = till.run(args);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["result"]["outcome"], "up_to_date", "{v}");
    }
}

#[test]
fn a_retired_update_key_is_accepted_from_its_files_and_named_by_the_doctor() {
    // Root (IT's own CLI) may name an endpoint anywhere; a clerk's process may not
    // (`config::tests` and tests/cli/security.rs run it as a second user).
    let home = tempfile::tempdir().unwrap();
    let user = home.path().join("user.toml");
    std::fs::write(
        &user,
        "[update]\ninstall_command = [\"sh\", \"-c\", \"id\"]\n",
    )
    .unwrap();
    let mut cmd = Command::new(BIN);
    common::clean(&mut cmd, home.path());
    let out = cmd
        .args(["--config", user.to_str().unwrap(), "doctor", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let config = &v["result"]["checks"][0];
    assert_eq!(config["name"], "config", "{v}");
    assert_eq!(config["status"], "warn", "a retired key is named: {v}");
    assert!(
        config["detail"]
            .as_str()
            .unwrap()
            .contains("update.install_command"),
        "{v}"
    );
}
