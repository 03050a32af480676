//! Signed updates, end to end with the real `giftpos` binary: a local update server on
//! loopback serves a release JSON and a package, signed with a minisign key made here
//! (the format `tauri signer` writes). A newer, correctly signed package is installed; a
//! tampered, unsigned or wrongly signed one is refused, logged, and nothing is installed.

mod common;

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
        let installed = home.path().join("installed");
        std::fs::create_dir_all(&installed).unwrap();
        std::fs::write(
            home.path().join("no-system-config.toml"),
            format!(
                "[update]\nendpoint = \"{endpoint}\"\npubkey = \"{pubkey}\"\ninstall_command = [\"cp\", \"-t\", \"{}\"]\n",
                installed.display()
            ),
        )
        .unwrap();
        Till { home }
    }

    fn update(&self) -> (i32, Value) {
        let mut cmd = Command::new(BIN);
        common::clean(&mut cmd, self.home.path());
        let out = cmd
            .args(["update", "--json"])
            .env("GIFTPOS_DATA_DIR", self.home.path().join("data"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let v = serde_json::from_str(text.trim())
            .unwrap_or_else(|e| panic!("{e}: {text} / {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code().unwrap_or(-1), v)
    }

    fn installed(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.home.path().join("installed"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
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

#[test]
fn a_signed_newer_release_is_installed_and_a_tampered_one_is_refused() {
    let (base, routes) = serve();
    let key = Key::new();
    let till = Till::new(&format!("{base}/latest.json"), &key.public());
    let package = b"!<arch>\ngiftpos 9.9.9 package bytes".repeat(100);

    // Tampered: the package changed after it was signed.
    let mut tampered = package.clone();
    tampered[500] ^= 1;
    publish(&routes, &base, "9.9.9", &tampered, &key.sign(&package));
    let (code, v) = till.update();
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["error"]["code"], "update_refused", "{v}");
    assert!(till.installed().is_empty());
    assert!(
        !till
            .home
            .path()
            .join("data/updates/giftpos_9.9.9_amd64.deb")
            .exists()
    );
    assert!(
        till.logs().contains("update refused"),
        "the refusal is logged"
    );

    // Unsigned.
    publish(&routes, &base, "9.9.9", &package, "");
    let (code, v) = till.update();
    assert_eq!(
        (code, v["error"]["code"].as_str()),
        (3, Some("update_refused")),
        "{v}"
    );
    assert!(till.installed().is_empty());

    // Signed, but with a key that is not ours.
    publish(
        &routes,
        &base,
        "9.9.9",
        &package,
        &Key::new().sign(&package),
    );
    let (code, v) = till.update();
    assert_eq!(
        (code, v["error"]["code"].as_str()),
        (3, Some("update_refused")),
        "{v}"
    );
    assert!(till.installed().is_empty());

    // Signed with our key: installed.
    publish(&routes, &base, "9.9.9", &package, &key.sign(&package));
    let (code, v) = till.update();
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["result"]["outcome"], "installed", "{v}");
    assert_eq!(
        till.installed(),
        vec!["giftpos_9.9.9_amd64.deb".to_string()]
    );
    assert_eq!(
        std::fs::read(till.home.path().join("installed/giftpos_9.9.9_amd64.deb")).unwrap(),
        package
    );

    // Nothing newer than what runs: nothing is fetched.
    publish(&routes, &base, env!("CARGO_PKG_VERSION"), &tampered, "");
    let (code, v) = till.update();
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["result"]["outcome"], "up_to_date", "{v}");
}

#[test]
fn only_the_system_file_says_where_updates_come_from() {
    let home = tempfile::tempdir().unwrap();
    let user = home.path().join("user.toml");
    std::fs::write(
        &user,
        "[update]\nendpoint = \"https://evil.example/latest.json\"\n",
    )
    .unwrap();
    let mut cmd = Command::new(BIN);
    common::clean(&mut cmd, home.path());
    let out = cmd
        .args(["--config", user.to_str().unwrap(), "update"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("system file"), "{err}");
}
