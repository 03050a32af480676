//! The configuration's layering, checks and error messages.

use super::*;

fn opts(env: &[(&str, &str)]) -> LoadOptions {
    LoadOptions {
        explicit: None,
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        system_file: None,
        user_file: None,
        // Most tests read as IT would (root): every layer counts.
        privileged: true,
        trusted_owners: vec![0, nix::unistd::geteuid().as_raw()],
    }
}

/// The same, as a clerk's process (not root).
fn user_opts(env: &[(&str, &str)]) -> LoadOptions {
    LoadOptions {
        privileged: false,
        ..opts(env)
    }
}

fn live_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("GIFTPOS_API_BASE", "https://api.dintero.com"),
        ("GIFTPOS_ACCOUNT_ID", "T12345678"),
        ("GIFTPOS_CLIENT_ID", "cid"),
        ("GIFTPOS_CLIENT_SECRET", "s3cr3t"),
    ]
}

#[test]
fn a_separate_checkout_client_is_both_or_neither_and_live_only() {
    let mut env = live_env();
    env.push(("GIFTPOS_CHECKOUT_CLIENT_ID", "pay-client"));
    let e = load(&opts(&env)).unwrap_err().to_string();
    assert!(
        e.contains("GIFTPOS_CHECKOUT_CLIENT_ID") && e.contains("both"),
        "{e}"
    );
    env.push(("GIFTPOS_CHECKOUT_CLIENT_SECRET", "pay-s3cr3t"));
    let c = load(&opts(&env)).unwrap();
    let cc = c.checkout_client.as_ref().unwrap();
    assert_eq!(cc.client_id, "pay-client");
    assert!(!format!("{c:?}").contains("pay-s3cr3t"));
    let e = load(&opts(&[
        ("GIFTPOS_CHECKOUT_CLIENT_ID", "pay-client"),
        ("GIFTPOS_CHECKOUT_CLIENT_SECRET", "x"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(e.contains("training"), "{e}");
    assert!(load(&opts(&live_env())).unwrap().checkout_client.is_none());
}

#[test]
fn sync_limits_have_defaults_and_refuse_zero() {
    let c = load(&opts(&[])).unwrap();
    assert_eq!(c.sync.max_failures, 10);
    assert_eq!(c.sync.max_failure_age, Duration::from_secs(86_400));
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.toml");
    std::fs::write(&f, "[sync]\nmax_failures = 3\nmax_wait_secs = 600\n").unwrap();
    let mut o = opts(&[]);
    o.explicit = Some(f.clone());
    let c = load(&o).unwrap();
    assert_eq!(
        (c.sync.max_failures, c.sync.max_wait),
        (3, Duration::from_secs(600))
    );
    std::fs::write(&f, "[sync]\nmax_failure_age_secs = 0\n").unwrap();
    let e = load(&o).unwrap_err().to_string();
    assert!(e.contains("sync.max_failure_age_secs"), "{e}");
}

#[test]
fn metrics_listen_only_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.toml");
    std::fs::write(&f, "[metrics]\nlisten = \"0.0.0.0:9925\"\n").unwrap();
    let mut o = opts(&[]);
    o.explicit = Some(f.clone());
    let e = load(&o).unwrap_err().to_string();
    assert!(
        e.contains("metrics.listen") && e.contains("loopback"),
        "{e}"
    );
    std::fs::write(
        &f,
        "[metrics]\nlisten = \"127.0.0.1:9925\"\ntextfile_dir = \"/var/lib/node\"\n",
    )
    .unwrap();
    let c = load(&o).unwrap();
    assert_eq!(c.metrics.listen, Some("127.0.0.1:9925".parse().unwrap()));
}

#[test]
fn drop_ins_follow_the_system_file_in_name_order_and_users_cannot_loosen_them() {
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("config.toml");
    let d = dir.path().join("config.d");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(&sys, "[terminal]\nstore_name = \"Base\"\n").unwrap();
    std::fs::write(
        d.join("20-store.toml"),
        "[terminal]\nstore_name = \"Oslo S\"\nid = \"till-7\"\n",
    )
    .unwrap();
    std::fs::write(
        d.join("10-api.toml"),
        "[terminal]\nstore_name = \"Early\"\n[dintero]\ntimeout_ms = 9000\n",
    )
    .unwrap();
    std::fs::write(
        d.join("30-caps.toml"),
        "[offline]\nmax_redeem = \"100.00\"\nmax_outstanding = \"300.00\"\nmax_balance_age_secs = 3600\n",
    )
    .unwrap();
    std::fs::write(d.join("notes.txt"), "not read").unwrap();
    let user = dir.path().join("user.toml");
    std::fs::write(
        &user,
        "[offline]\nmax_redeem = \"5000.00\"\nmax_outstanding = \"9000.00\"\nmax_balance_age_secs = 86400\n",
    )
    .unwrap();
    let mut o = user_opts(&[]);
    o.system_file = Some(sys.clone());
    o.user_file = Some(user.clone());
    // A clerk's file naming the caps is refused, naming the file and the key ...
    let e = load(&o).unwrap_err().to_string();
    assert!(e.contains("offline.") && e.contains("user.toml"), "{e}");
    std::fs::write(&user, "[terminal]\nlocale = \"nb\"\n").unwrap();
    let c = load(&o).unwrap();
    assert_eq!(c.store_name, "Oslo S");
    assert_eq!(c.terminal_id, "till-7");
    assert_eq!(c.timeout, Duration::from_millis(9000));
    assert_eq!(c.offline.unwrap().max_redeem.minor(), 10_000);
    assert_eq!(c.files.len(), 5, "{:?}", c.files);
    // A drop-in that is not TOML is named with the error.
    std::fs::write(d.join("40-bad.toml"), "[terminal\n").unwrap();
    let e = load(&o).unwrap_err().to_string();
    assert!(e.contains("40-bad.toml"), "{e}");
}

#[test]
fn no_credentials_means_training() {
    let c = load(&opts(&[("GIFTPOS_DATA_DIR", "/tmp/x")])).unwrap();
    assert!(c.is_training());
    assert_eq!(c.currency.code(), "NOK");
    assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
    assert_eq!(c.token_formats.len(), 2);
}

#[test]
fn full_credentials_mean_live_and_the_secret_stays_hidden() {
    let c = load(&opts(&live_env())).unwrap();
    assert!(!c.is_training());
    assert!(!format!("{c:?}").contains("s3cr3t"));
}

#[test]
fn partial_credentials_name_what_is_missing() {
    let e = load(&opts(&[("GIFTPOS_CLIENT_ID", "cid")])).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("api_base") && msg.contains("account_id") && msg.contains("client secret")
    );
    assert!(!msg.contains("client_id (GIFTPOS_CLIENT_ID)"));
}

#[test]
fn errors_name_the_source_key_and_expectation() {
    let mut env = live_env();
    env[1] = ("GIFTPOS_ACCOUNT_ID", "X1");
    let e = load(&opts(&env)).unwrap_err().to_string();
    assert!(
        e.contains("GIFTPOS_ACCOUNT_ID") && e.contains("account_id") && e.contains("T or P"),
        "{e}"
    );
    let mut env = live_env();
    env[0] = ("GIFTPOS_API_BASE", "http://api.dintero.com");
    assert!(
        load(&opts(&env))
            .unwrap_err()
            .to_string()
            .contains("https://")
    );
    let e = load(&opts(&[("GIFTPOS_CURRENCY", "KRONER")]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("GIFTPOS_CURRENCY") && e.contains("ISO 4217"),
        "{e}"
    );
}

#[test]
fn files_layer_and_env_wins() {
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("system.toml");
    let user = dir.path().join("user.toml");
    std::fs::write(
        &sys,
        "[terminal]\nid = \"sys-till\"\nstore_name = \"Oslo S\"\ncurrency = \"SEK\"\n",
    )
    .unwrap();
    std::fs::write(&user, "[terminal]\nid = \"user-till\"\nlocale = \"nb\"\n").unwrap();
    let mut o = opts(&[("GIFTPOS_CURRENCY", "DKK")]);
    o.system_file = Some(sys.clone());
    o.user_file = Some(user.clone());
    let c = load(&o).unwrap();
    assert_eq!(c.terminal_id, "user-till");
    assert_eq!(c.store_name, "Oslo S");
    assert_eq!(c.locale, Locale::Nb);
    assert_eq!(c.currency.code(), "DKK");
    assert_eq!(c.files, vec![sys, user]);
}

#[test]
fn bad_files_are_named_with_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.toml");
    std::fs::write(&f, "[dintero]\ntimeout_ms = \"soon\"\n").unwrap();
    let mut o = opts(&[]);
    o.explicit = Some(f.clone());
    let e = load(&o).unwrap_err().to_string();
    assert!(
        e.contains(&f.display().to_string()) && e.contains("timeout_ms"),
        "{e}"
    );
    std::fs::write(&f, "[terminal]\nshop = \"x\"\n").unwrap();
    let e = load(&o).unwrap_err().to_string();
    assert!(e.contains("shop"), "unknown keys are refused: {e}");
    o.explicit = Some(dir.path().join("missing.toml"));
    assert!(matches!(load(&o).unwrap_err(), ConfigError::Read { .. }));
}

#[test]
fn secret_files_must_be_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("secret");
    std::fs::write(&f, "s3cr3t\n").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut env = live_env();
    env.pop();
    let path = f.display().to_string();
    env.push(("GIFTPOS_CLIENT_SECRET_FILE", &path));
    let e = load(&opts(&env)).unwrap_err().to_string();
    assert!(e.contains("chmod 600") && e.contains(&path), "{e}");
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    let c = load(&opts(&env)).unwrap();
    match c.mode {
        Mode::Live { client_secret, .. } => assert_eq!(client_secret.expose(), "s3cr3t"),
        Mode::Training => panic!("expected live"),
    }
}

#[test]
fn scanner_settings_layer_and_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.toml");
    std::fs::write(
        &f,
        "[scanner]\nport = \"/dev/ttyACM0\"\nterminator = \"crlf\"\nbaud = 115200\n",
    )
    .unwrap();
    let mut o = opts(&[("GIFTPOS_SCANNER_PORT", "/dev/ttyUSB1")]);
    o.explicit = Some(f.clone());
    let c = load(&o).unwrap();
    assert!(c.scanner_configured);
    assert_eq!(c.scanner.port, "/dev/ttyUSB1", "the environment wins");
    assert_eq!(c.scanner.baud, 115_200);
    assert_eq!(
        c.scanner.frame.terminator,
        giftpos_scanner::Terminator::Crlf
    );
    std::fs::write(&f, "[scanner]\nterminator = \"semicolon\"\n").unwrap();
    let e = load(&o).unwrap_err().to_string();
    assert!(
        e.contains("scanner.terminator") && e.contains("c.toml"),
        "{e}"
    );
    std::fs::write(&f, "[scanner]\nstop_bits = 3\n").unwrap();
    assert!(
        load(&o)
            .unwrap_err()
            .to_string()
            .contains("scanner.stop_bits")
    );
    assert!(!load(&opts(&[])).unwrap().scanner_configured);
}

#[test]
fn a_user_file_cannot_loosen_what_it_set_in_the_system_file() {
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("system.toml");
    let user = dir.path().join("user.toml");
    std::fs::write(
        &sys,
        "[dintero]\napi_base = \"https://api.dintero.com\"\naccount_id = \"P12345678\"\nclient_id = \"cid\"\n\
         [offline]\nmax_redeem = \"100.00\"\nmax_outstanding = \"300.00\"\nmax_balance_age_secs = 3600\n",
    )
    .unwrap();
    let mut o = user_opts(&[("GIFTPOS_CLIENT_SECRET", "s")]);
    o.system_file = Some(sys.clone());
    o.user_file = Some(user.clone());
    // Every control a clerk's file could loosen is refused by name: pointing the till
    // elsewhere, raising (or adding) the offline caps, switching the payment check off.
    for (text, key) in [
        (
            "[dintero]\napi_base = \"http://127.0.0.1:9\"\n",
            "dintero.api_base",
        ),
        (
            "[dintero]\ncheckout_base = \"http://127.0.0.1:9\"\n",
            "dintero.checkout_base",
        ),
        ("[dintero]\nca_file = \"/tmp/ca.pem\"\n", "dintero.ca_file"),
        (
            "[offline]\nmax_redeem = \"5000.00\"\n",
            "offline.max_redeem",
        ),
        ("[payments]\nverify = \"off\"\n", "payments.verify"),
        (
            "[payments]\ngift_card_buys_gift_card = true\n",
            "payments.gift_card_buys_gift_card",
        ),
        (
            "[payments]\ntenders = [\"dintero\", \"cash\"]\n",
            "payments.tenders",
        ),
        ("[terminal]\nkiosk = false\n", "terminal.kiosk"),
        (
            "[terminal]\nidle_sign_out_secs = 0\n",
            "terminal.idle_sign_out_secs",
        ),
        (
            "[terminal]\ndata_dir = \"/tmp/elsewhere\"\n",
            "terminal.data_dir",
        ),
        ("[metrics]\nlisten = \"127.0.0.1:9\"\n", "metrics.listen"),
        (
            "[update]\nendpoint = \"https://x.test/u.json\"\n",
            "update.endpoint",
        ),
    ] {
        std::fs::write(&user, text).unwrap();
        let e = load(&o).unwrap_err();
        assert!(matches!(e, ConfigError::ItOnly { .. }), "{key}: {e}");
        let e = e.to_string();
        assert!(e.contains(key) && e.contains("user.toml"), "{e}");
        // The same through --config.
        let mut x = o.clone();
        x.user_file = None;
        x.explicit = Some(user.clone());
        assert!(load(&x).unwrap_err().to_string().contains(key));
    }
    // The environment is the user's too.
    std::fs::write(&user, "").unwrap();
    for (var, value) in [
        ("GIFTPOS_API_BASE", "https://api.example.test"),
        ("GIFTPOS_PAYMENTS_VERIFY", "off"),
        ("GIFTPOS_DATA_DIR", "/tmp/x"),
        ("GIFTPOS_KIOSK", "false"),
        ("GIFTPOS_CA_FILE", "/tmp/ca.pem"),
    ] {
        let mut x = o.clone();
        x.env.insert(var.into(), value.into());
        let e = load(&x).unwrap_err().to_string();
        assert!(e.contains(var), "{e}");
    }
    let c = load(&o).unwrap();
    match &c.mode {
        Mode::Live { api_base, .. } => assert_eq!(api_base, "https://api.dintero.com"),
        Mode::Training => panic!("expected live"),
    }
    // Root (IT's own CLI) may set them anywhere.
    let mut root = o.clone();
    root.privileged = true;
    root.env
        .insert("GIFTPOS_API_BASE".into(), "https://api.example.test".into());
    match load(&root).unwrap().mode {
        Mode::Live { api_base, .. } => assert_eq!(api_base, "https://api.example.test"),
        Mode::Training => panic!("expected live"),
    }
}

#[test]
fn its_files_must_be_roots_and_writable_by_root_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    std::fs::create_dir(&etc).unwrap();
    let sys = etc.join("config.toml");
    std::fs::write(&sys, "[payments]\nverify = \"required\"\n").unwrap();
    std::fs::set_permissions(&sys, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut o = user_opts(&[]);
    o.system_file = Some(sys.clone());
    load(&o).unwrap();
    // Writable by others: refused by name, with the fix.
    std::fs::set_permissions(&sys, std::fs::Permissions::from_mode(0o666)).unwrap();
    let e = load(&o).unwrap_err().to_string();
    assert!(e.contains("config.toml") && e.contains("chmod go-w"), "{e}");
    std::fs::set_permissions(&sys, std::fs::Permissions::from_mode(0o644)).unwrap();
    // A folder others can write (they could add a drop-in or replace the file).
    let d = etc.join("config.d");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("10-x.toml"), "").unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
    let e = load(&o).unwrap_err().to_string();
    assert!(e.contains("config.d") && e.contains("not trusted"), "{e}");
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    load(&o).unwrap();
    // Owned by someone who is not trusted.
    o.trusted_owners = vec![u32::MAX - 1];
    let e = load(&o).unwrap_err().to_string();
    assert!(e.contains("chown root:root"), "{e}");
}

#[test]
fn plain_http_only_to_loopback() {
    assert!(check_api_base("http://127.0.0.1:8787/").is_ok());
    assert!(check_api_base("http://localhost:1").is_ok());
    assert!(check_api_base("http://[::1]:1").is_ok());
    assert!(check_api_base("http://[2001:db8::1]:1").is_err());
    assert!(check_api_base("http://localhost.example.com").is_err());
    assert!(check_api_base("http://127.0.0.1@example.com").is_err());
    assert!(check_api_base("http://10.0.0.1").is_err());
    assert!(check_api_base("ftp://x").is_err());
    assert_eq!(
        check_api_base("https://api.dintero.com/").unwrap(),
        "https://api.dintero.com"
    );
}

/// The example shipped in the packages (and shown in the README) names only real keys
/// with values of the right types.
#[test]
fn the_packaged_example_config_parses() {
    let text = include_str!("../../../../assets/config.example.toml");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    let mut l = Layers::new(false);
    l.apply_file(text.parse().unwrap(), &path, true).unwrap();
    assert!(l.is_set("update.endpoint") && l.is_set("dintero.client_secret_file"));
    let formats: Vec<TokenFormat> = l.de("cards.token_formats").unwrap().unwrap().v;
    assert_eq!(formats.len(), 2);
    assert!(
        l.is_set("metrics.listen") && l.is_set("payments.verify") && l.is_set("sync.max_failures")
    );
}

#[test]
fn kiosk_fails_closed_when_its_files_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("config.toml");
    let mut o = user_opts(&[]);
    o.system_file = Some(sys.clone());
    assert!(!kiosk_fail_closed(&o), "no IT file: a window");
    std::fs::write(&sys, "[terminal]\nkiosk = true\n").unwrap();
    assert!(kiosk_fail_closed(&o));
    std::fs::write(&sys, "[terminal]\nkiosk = false\n").unwrap();
    assert!(!kiosk_fail_closed(&o));
    std::fs::write(&sys, "[terminal\nkiosk = false\n").unwrap();
    assert!(kiosk_fail_closed(&o), "unreadable: kiosk");
    std::fs::write(&sys, "[terminal]\nkiosk = false\n").unwrap();
    o.trusted_owners = vec![u32::MAX - 1];
    assert!(kiosk_fail_closed(&o), "untrusted: kiosk");
}
