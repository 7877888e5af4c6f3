//! Messages and results checked against docker 20.10's daemon.

use super::*;

fn err(r: EngineResult<Planned>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn binds_volumes_and_anonymous() {
    let p = parse_bind("/host/dir/:/in/ctr/:ro").unwrap();
    assert_eq!(p.destination, "/in/ctr");
    assert!(!p.read_write);
    assert_eq!(p.mode, "ro");
    assert_eq!(
        p.kind,
        Kind::Bind {
            source: "/host/dir".into(),
            propagation: "rprivate".into(),
            recursive: true,
            create_source: true,
        }
    );

    let p = parse_bind("data:/var/lib/x").unwrap();
    assert_eq!(p.mode, "z");
    assert!(p.read_write);
    assert!(matches!(
        p.kind,
        Kind::Volume { name: Some(ref n), copy_data: true, .. } if n == "data"
    ));

    let p = parse_bind("data:/x:ro,nocopy").unwrap();
    assert_eq!(p.mode, "ro,nocopy");
    assert!(matches!(
        p.kind,
        Kind::Volume {
            copy_data: false,
            ..
        }
    ));

    let p = parse_bind("/anon").unwrap();
    assert_eq!(p.mode, "");
    assert!(matches!(p.kind, Kind::Volume { name: None, .. }));

    let p = parse_bind("/tmp:/x:rshared").unwrap();
    assert!(matches!(p.kind, Kind::Bind { ref propagation, .. } if propagation == "rshared"));
}

#[test]
fn bad_binds_say_what_docker_says() {
    assert_eq!(
        err(parse_bind("/tmp:rel")),
        "invalid volume specification: '/tmp:rel': invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute"
    );
    assert_eq!(err(parse_bind("/tmp:/x:bogus")), "invalid mode: bogus");
    assert_eq!(err(parse_bind("/tmp:/x:ro,rw")), "invalid mode: ro,rw");
    assert_eq!(
        err(parse_bind("/x:ro")),
        "invalid volume specification: '/x:ro'"
    );
    assert_eq!(
        err(parse_bind("a:b:c:d")),
        "invalid volume specification: 'a:b:c:d'"
    );
    assert_eq!(
        err(parse_bind("/tmp:/")),
        "invalid volume specification: '/tmp:/': invalid mount config for type \"bind\": invalid specification: destination can't be '/'"
    );
    assert_eq!(
        err(parse_bind("vol:/x:rshared")),
        "invalid volume specification: 'vol:/x:rshared': invalid mount config for type \"volume\": field BindOptions must not be specified"
    );
    assert_eq!(
        err(parse_bind("/x:/y:nocopy")),
        "invalid volume specification: '/x:/y:nocopy': invalid mount config for type \"bind\": field VolumeOptions must not be specified"
    );
}

fn mount(kind: &str, source: &str, target: &str) -> Mount {
    Mount {
        kind: kind.into(),
        source: source.into(),
        target: target.into(),
        ..Default::default()
    }
}

#[test]
fn mounts_are_checked_like_docker() {
    assert_eq!(
        err(parse_mount(&mount("bind", "/nonexistent-wharf-test", "/x"))),
        "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-wharf-test"
    );
    assert_eq!(
        err(parse_mount(&mount("bind", "rel", "/x"))),
        "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute"
    );
    assert_eq!(
        err(parse_mount(&mount("bind", "", "/x"))),
        "invalid mount config for type \"bind\": field Source must not be empty"
    );
    assert_eq!(
        err(parse_mount(&mount("foo", "", "/x"))),
        "invalid mount config for type \"foo\": mount type unknown"
    );
    assert_eq!(
        err(parse_mount(&mount("volume", "", "x"))),
        "invalid mount config for type \"volume\": invalid mount path: 'x' mount path must be absolute"
    );
    assert_eq!(
        err(parse_mount(&mount("tmpfs", "a", "/x"))),
        "invalid mount config for type \"tmpfs\": field Source must not be specified"
    );
    let mut ro_anon = mount("volume", "", "/x");
    ro_anon.read_only = true;
    assert_eq!(
        err(parse_mount(&ro_anon)),
        "invalid mount config for type \"volume\": must not set ReadOnly mode when using anonymous volumes"
    );

    let mut t = mount("tmpfs", "", "/t/");
    t.tmpfs_options = Some(TmpfsOptions {
        size_bytes: 1 << 20,
        mode: 0o700,
    });
    let p = parse_mount(&t).unwrap();
    assert_eq!(p.destination, "/t");
    assert_eq!(
        p.kind,
        Kind::Tmpfs {
            options: vec!["mode=700".into(), "size=1m".into()]
        }
    );
    let p = parse_mount(&mount("volume", "v1", "/m")).unwrap();
    assert_eq!(p.mode, "z");
    let p = parse_mount(&mount("bind", "/", "/host")).unwrap();
    assert!(matches!(
        p.kind,
        Kind::Bind {
            create_source: false,
            ..
        }
    ));
}

#[test]
fn tmpfs_flag_and_sizes() {
    let p = parse_tmpfs("/run:size=64m,mode=1777").unwrap();
    assert_eq!(
        p.kind,
        Kind::Tmpfs {
            options: vec!["size=64m".into(), "mode=1777".into()]
        }
    );
    assert_eq!(
        err(parse_tmpfs("x")),
        "invalid mount path: 'x' mount path must be absolute"
    );
    let size = |n| {
        tmpfs_options(
            Some(&TmpfsOptions {
                size_bytes: n,
                mode: 0,
            }),
            true,
        )
    };
    assert_eq!(size(1000), ["ro", "size=1000"]);
    assert_eq!(size(3 << 30), ["ro", "size=3g"]);
    assert_eq!(size(1536), ["ro", "size=1536"]);
}

#[test]
fn paths_clean_like_go() {
    assert_eq!(clean_path("/a//b/./c/../"), "/a/b");
    assert_eq!(clean_path("/.."), "/");
    assert_eq!(clean_path("a/../../b"), "../b");
    assert_eq!(clean_path(""), ".");
}
