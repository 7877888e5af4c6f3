//! End-to-end tests of the template language: parse, execute, compare
//! with what Go's text/template (with docker's functions) prints.

use serde_json::{json, Value};

use super::Template;
use crate::FormatError;

fn render(src: &str, data: &Value) -> String {
    match Template::parse(src) {
        Ok(t) => t
            .render(data)
            .unwrap_or_else(|e| panic!("render {src:?}: {e}")),
        Err(e) => panic!("parse {src:?}: {e}"),
    }
}

fn exec_err(src: &str, data: &Value) -> String {
    match Template::parse(src).unwrap().render(data) {
        Err(FormatError::Exec(msg)) => msg,
        other => panic!("expected an execution error for {src:?}, got {other:?}"),
    }
}

fn parse_err(src: &str) -> String {
    match Template::parse(src) {
        Err(FormatError::Parse(msg)) => msg,
        other => panic!("expected a parse error for {src:?}, got {other:?}"),
    }
}

fn container() -> Value {
    json!({
        "Id": "4f66ad9a0b2e",
        "Name": "/web",
        "Args": ["-g", "daemon off;"],
        "State": {"Status": "running", "Running": true, "ExitCode": 0, "Pid": 1234},
        "Config": {
            "Image": "nginx:latest",
            "Env": ["PATH=/usr/bin", "A=<b>&c"],
            "Labels": {"z": "last", "a": "first"},
            "Healthcheck": null
        },
        "NetworkSettings": {
            "Ports": {
                "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}],
                "443/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8443"}]
            }
        },
        "Mounts": [
            {"Source": "/data", "Destination": "/var/lib/data"},
            {"Source": "/logs", "Destination": "/var/log"}
        ],
        "Size": 1015700000u64,
        "Ratio": 1.5,
        "Empty": "",
        "Zero": 0,
        "EmptyList": [],
        "EmptyMap": {}
    })
}

#[test]
fn literal_text_and_fields() {
    let c = container();
    assert_eq!(render("plain text", &c), "plain text");
    assert_eq!(render("", &c), "");
    assert_eq!(render("{{.Name}}", &c), "/web");
    assert_eq!(
        render("{{.State.Status}} {{.State.Pid}}", &c),
        "running 1234"
    );
    assert_eq!(render("{{ .Config.Image }}", &c), "nginx:latest");
    assert_eq!(render("{{.Size}}", &c), "1015700000");
    assert_eq!(render("{{.Ratio}}", &c), "1.5");
    assert_eq!(render("{{.State.Running}}", &c), "true");
}

#[test]
fn missing_keys_and_nil() {
    let c = container();
    assert_eq!(render("{{.Nope}}", &c), "<no value>");
    assert_eq!(render("{{.Nope.Deeper}}", &c), "<no value>");
    assert_eq!(render("{{.Config.Healthcheck}}", &c), "<nil>");
    assert_eq!(render("{{.Config.Healthcheck.Test}}", &c), "<no value>");
}

#[test]
fn composite_values_print_like_go() {
    let c = container();
    assert_eq!(render("{{.Args}}", &c), "[-g daemon off;]");
    assert_eq!(render("{{.Config.Labels}}", &c), "map[a:first z:last]");
    assert_eq!(
        render("{{.Mounts}}", &c),
        "[map[Destination:/var/lib/data Source:/data] map[Destination:/var/log Source:/logs]]"
    );
    assert_eq!(render("{{.EmptyList}} {{.EmptyMap}}", &c), "[] map[]");
    assert_eq!(render("{{.}}", &json!("just a string")), "just a string");
    assert_eq!(render("{{.}}", &json!(null)), "<nil>");
}

#[test]
fn literals() {
    let d = json!({});
    assert_eq!(render(r#"{{"a\tb\n\"q\" \u00e9"}}"#, &d), "a\tb\n\"q\" é");
    assert_eq!(render("{{`raw \\t {{x}}`}}", &d), "raw \\t {{x}}");
    assert_eq!(render("{{true}} {{false}}", &d), "true false");
    assert_eq!(
        render("{{42}} {{-7}} {{1.5}} {{1e3}} {{0x10}} {{'a'}}", &d),
        "42 -7 1.5 1000 16 97"
    );
    assert_eq!(render("{{print nil}}", &d), "<nil>");
}

#[test]
fn trim_markers() {
    let d = json!({"A": "x", "L": [1, 2, 3]});
    assert_eq!(render("a  {{- .A -}}  b", &d), "axb");
    assert_eq!(render("a  {{- .A}}  b", &d), "ax  b");
    assert_eq!(render("a  {{.A -}}  \n\t b", &d), "a  xb");
    assert_eq!(render("{{range .L -}}\n  {{.}}\n{{- end}}", &d), "123");
    assert_eq!(render("{{- /* a comment */ -}}  x", &d), "x");
    assert_eq!(render("a {{/* comment */}} b", &d), "a  b");
}

#[test]
fn pipelines() {
    let c = container();
    assert_eq!(render("{{.Name | printf \"%s!\"}}", &c), "/web!");
    assert_eq!(
        render("{{.Config.Image | upper | printf \"<%s>\"}}", &c),
        "<NGINX:LATEST>"
    );
    assert_eq!(render("{{.Args | len}}", &c), "2");
    assert_eq!(render("{{(index .Mounts 1).Source}}", &c), "/logs");
    assert_eq!(render("{{(split .Config.Image \":\") | len}}", &c), "2");
    assert_eq!(
        render("{{index (split .Config.Image \":\") 0}}", &c),
        "nginx"
    );
}

#[test]
fn variables() {
    let c = container();
    assert_eq!(render("{{$n := .Name}}{{$n}}-{{$n}}", &c), "/web-/web");
    assert_eq!(render("{{$x := 1}}{{$x = 2}}{{$x}}", &c), "2");
    assert_eq!(
        render("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", &c),
        "2"
    );
    assert_eq!(
        render("{{with .State}}{{$.Name}} {{.Status}}{{end}}", &c),
        "/web running"
    );
    assert_eq!(render("{{$.Config.Image}}", &c), "nginx:latest");
    assert_eq!(render("{{$s := .State}}{{$s.Pid}}", &c), "1234");
    assert_eq!(
        render(
            "{{range $i, $m := .Mounts}}{{$i}}={{$m.Source}};{{end}}",
            &c
        ),
        "0=/data;1=/logs;"
    );
    assert_eq!(
        render("{{range $m := .Mounts}}{{$m.Destination}} {{end}}", &c),
        "/var/lib/data /var/log "
    );
    assert_eq!(
        render(
            "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}} {{end}}",
            &c
        ),
        "a=first z=last "
    );
    assert_eq!(render("{{if $x := .State.Pid}}{{$x}}{{end}}", &c), "1234");
}

#[test]
fn if_else_chains() {
    let c = container();
    let t = "{{if eq .State.Status \"exited\"}}E{{else if .State.Running}}R{{else}}?{{end}}";
    assert_eq!(render(t, &c), "R");
    assert_eq!(render("{{if .Nope}}y{{else}}n{{end}}", &c), "n");
    assert_eq!(render("{{if .Config}}y{{end}}", &c), "y");
    // Truthiness: false, 0, "", nil and empty collections are false.
    for field in ["Empty", "Zero", "EmptyList", "EmptyMap", "Nope"] {
        assert_eq!(
            render(&format!("{{{{if .{field}}}}}t{{{{else}}}}f{{{{end}}}}"), &c),
            "f",
            "{field}"
        );
    }
    assert_eq!(
        render("{{if .Config.Healthcheck}}t{{else}}f{{end}}", &c),
        "f"
    );
    for field in ["Name", "Size", "Ratio", "Args", "State"] {
        assert_eq!(
            render(&format!("{{{{if .{field}}}}}t{{{{else}}}}f{{{{end}}}}"), &c),
            "t",
            "{field}"
        );
    }
}

#[test]
fn range_over_collections() {
    let c = container();
    assert_eq!(
        render("{{range .Args}}[{{.}}]{{end}}", &c),
        "[-g][daemon off;]"
    );
    // Objects in sorted key order; dot is the element.
    assert_eq!(
        render(
            "{{range .NetworkSettings.Ports}}{{(index . 0).HostPort}} {{end}}",
            &c
        ),
        "8443 8080 "
    );
    assert_eq!(
        render("{{range $p, $conf := .NetworkSettings.Ports}}{{$p}} -> {{(index $conf 0).HostPort}}; {{end}}", &c),
        "443/tcp -> 8443; 80/tcp -> 8080; "
    );
    assert_eq!(
        render("{{range .EmptyList}}x{{else}}none{{end}}", &c),
        "none"
    );
    assert_eq!(render("{{range .Nope}}x{{else}}none{{end}}", &c), "none");
    assert_eq!(
        render("{{range .Config.Healthcheck}}x{{else}}none{{end}}", &c),
        "none"
    );
    assert_eq!(render("{{range 3}}{{.}}{{end}}", &c), "012");
    assert_eq!(
        render(
            "{{range .Mounts}}{{if eq .Source \"/logs\"}}{{break}}{{end}}{{.Source}} {{end}}",
            &c
        ),
        "/data "
    );
    assert_eq!(
        render(
            "{{range .Mounts}}{{if eq .Source \"/data\"}}{{continue}}{{end}}{{.Source}}{{end}}",
            &c
        ),
        "/logs"
    );
    // Nested ranges with $ access.
    assert_eq!(
        render("{{range .Mounts}}{{range $.Args}}{{.}},{{end}}{{end}}", &c),
        "-g,daemon off;,-g,daemon off;,"
    );
}

#[test]
fn with_blocks() {
    let c = container();
    assert_eq!(render("{{with .State}}{{.Status}}{{end}}", &c), "running");
    assert_eq!(render("{{with .Nope}}x{{else}}empty{{end}}", &c), "empty");
    assert_eq!(
        render("{{with .Nope}}x{{else with .Name}}{{.}}{{end}}", &c),
        "/web"
    );
}

#[test]
fn json_function() {
    let c = container();
    assert_eq!(render("{{json .Args}}", &c), r#"["-g","daemon off;"]"#);
    assert_eq!(
        render("{{json .State}}", &c),
        r#"{"Status":"running","Running":true,"ExitCode":0,"Pid":1234}"#
    );
    // docker's json does not escape HTML characters.
    assert_eq!(
        render("{{json .Config.Env}}", &c),
        r#"["PATH=/usr/bin","A=<b>&c"]"#
    );
    assert_eq!(
        render("{{json .Nope}} {{json .Config.Healthcheck}}", &c),
        "null null"
    );
    assert_eq!(
        render("{{json .Size}} {{json .Ratio}} {{json .Name}}", &c),
        r#"1015700000 1.5 "/web""#
    );
    assert_eq!(
        render("{{.Config.Labels | json}}", &c),
        r#"{"z":"last","a":"first"}"#
    );
}

#[test]
fn index_function() {
    let c = container();
    assert_eq!(render("{{index .Config.Labels \"a\"}}", &c), "first");
    assert_eq!(
        render("{{index .Config.Labels \"nope\"}}", &c),
        "<no value>"
    );
    assert_eq!(render("{{index .Args 1}}", &c), "daemon off;");
    assert_eq!(
        render(
            "{{index .NetworkSettings.Ports \"80/tcp\" 0 \"HostPort\"}}",
            &c
        ),
        "8080"
    );
    assert_eq!(render("{{index .Name 1}}", &c), "119");
    assert_eq!(render("{{index .Args}}", &c), "[-g daemon off;]");
}

#[test]
fn string_functions() {
    let c = container();
    assert_eq!(render("{{join .Args \", \"}}", &c), "-g, daemon off;");
    assert_eq!(render("{{join .EmptyList \",\"}}", &c), "");
    assert_eq!(render("{{split \"a:b:c\" \":\"}}", &c), "[a b c]");
    assert_eq!(render("{{split \"abc\" \"\"}}", &c), "[a b c]");
    assert_eq!(render("{{len (split \"\" \",\")}}", &c), "1");
    assert_eq!(
        render(
            "{{upper .Name}} {{lower \"ABC\"}} {{title \"hello big world\"}}",
            &c
        ),
        "/WEB abc Hello Big World"
    );
    assert_eq!(
        render("{{truncate .Id 4}}|{{truncate \"ab\" 10}}", &c),
        "4f66|ab"
    );
    assert_eq!(
        render("[{{pad .Name 1 2}}][{{pad .Empty 1 2}}]", &c),
        "[ /web  ][]"
    );
    assert_eq!(
        render(
            "{{len .Name}} {{len .Args}} {{len .Config.Labels}} {{len \"é\"}}",
            &c
        ),
        "4 2 2 2"
    );
    assert_eq!(
        render("{{slice .Args 1}} {{slice .Name 1 3}}", &c),
        "[daemon off;] we"
    );
    assert_eq!(
        render(
            "{{html \"<a&b>\"}} {{urlquery \"a b\"}} {{js \"it's\"}}",
            &c
        ),
        "&lt;a&amp;b&gt; a+b it\\'s"
    );
}

#[test]
fn print_functions() {
    let c = container();
    assert_eq!(render("{{print \"a\" \"b\" 1 2 \"c\"}}", &c), "ab1 2c");
    assert_eq!(render("{{println .Name .State.Pid}}", &c), "/web 1234\n");
    assert_eq!(render("{{printf \"%-10s|\" .Name}}", &c), "/web      |");
    assert_eq!(render("{{printf \"%10s|\" .Name}}", &c), "      /web|");
    assert_eq!(
        render(
            "{{printf \"%d %v %q %t\" .State.Pid .Ratio .Name .State.Running}}",
            &c
        ),
        "1234 1.5 \"/web\" true"
    );
    assert_eq!(render("{{printf \"%s\" .Args}}", &c), "[-g daemon off;]");
    assert_eq!(render("{{printf \"%v\" .Nope}}", &c), "<nil>");
    assert_eq!(render("{{printf \"%.2f%%\" 12.345}}", &c), "12.35%");
    assert_eq!(render("{{printf \"%d\" .Name}}", &c), "%!d(string=/web)");
    assert_eq!(render("{{printf \"%s-%s\" \"a\"}}", &c), "a-%!s(MISSING)");
    assert_eq!(
        render("{{.State.Status | printf \"%s/%s\" .Name}}", &c),
        "/web/running"
    );
}

#[test]
fn comparisons_and_logic() {
    let c = container();
    assert_eq!(
        render(
            "{{eq .State.ExitCode 0}} {{eq .Name \"/web\"}} {{eq 1 2 3 1}}",
            &c
        ),
        "true true true"
    );
    assert_eq!(
        render("{{ne .Name \"/db\"}} {{eq .Nope .Config.Healthcheck}}", &c),
        "true true"
    );
    assert_eq!(
        render("{{eq .Ratio 1.5}} {{eq .Size 1015700000}}", &c),
        "true true"
    );
    assert_eq!(
        render("{{lt 1 2}} {{le 2 2}} {{gt 1 2}} {{ge 2.5 2}}", &c),
        "true true false true"
    );
    assert_eq!(
        render("{{lt \"a\" \"b\"}} {{gt \"b\" \"a\"}}", &c),
        "true true"
    );
    assert_eq!(
        render(
            "{{and 1 0 2}} {{and 1 2}} {{or 0 \"\" \"x\"}} {{or 0 \"\"}}",
            &c
        ),
        "0 2 x "
    );
    assert_eq!(render("{{not .Empty}} {{not .Name}}", &c), "true false");
    assert_eq!(
        render(
            "{{if and .State.Running (eq .State.ExitCode 0)}}ok{{end}}",
            &c
        ),
        "ok"
    );
    // and/or short-circuit: the failing index is never evaluated.
    assert_eq!(render("{{or .Name (index .Args 99)}}", &c), "/web");
    assert_eq!(render("{{and .Empty (index .Args 99)}}", &c), "");
}

#[test]
fn execution_errors() {
    let c = container();
    assert_eq!(
        exec_err("{{.Name.Bar}}", &c),
        r#"template: :1:7: executing "" at <.Name.Bar>: can't evaluate field Bar in type string"#
    );
    assert_eq!(
        exec_err("x\n {{.Args.Foo}}", &c),
        r#"template: :2:8: executing "" at <.Args.Foo>: can't evaluate field Foo in type []interface {}"#
    );
    assert_eq!(
        exec_err("{{index .Args 5}}", &c),
        r#"template: :1:2: executing "" at <index .Args 5>: error calling index: index out of range: 5"#
    );
    assert_eq!(
        exec_err("{{index .Name \"x\"}}", &c),
        r#"template: :1:2: executing "" at <index .Name "x">: error calling index: cannot index slice/array with type string"#
    );
    assert_eq!(
        exec_err("{{join .Args}}", &c),
        r#"template: :1:2: executing "" at <join>: wrong number of args for join: want 2 got 1"#
    );
    assert_eq!(
        exec_err("{{upper .Size}}", &c),
        r#"template: :1:2: executing "" at <upper .Size>: wrong type for value; expected string; got int"#
    );
    assert_eq!(
        exec_err("{{upper .Nope}}", &c),
        r#"template: :1:2: executing "" at <upper .Nope>: invalid value; expected string"#
    );
    assert_eq!(
        exec_err("{{nil}}", &c),
        r#"template: :1:2: executing "" at <nil>: nil is not a command"#
    );
    assert_eq!(
        exec_err("{{range .Name}}{{end}}", &c),
        r#"template: :1:8: executing "" at <.Name>: range can't iterate over /web"#
    );
    assert_eq!(
        exec_err("{{.Name 1}}", &c),
        r#"template: :1:2: executing "" at <.Name>: Name is not a method but has arguments"#
    );
    assert_eq!(
        exec_err("{{1 2}}", &c),
        r#"template: :1:2: executing "" at <1>: can't give argument to non-function 1"#
    );
    assert_eq!(
        exec_err("{{lt .Name 1}}", &c),
        r#"template: :1:2: executing "" at <lt .Name 1>: error calling lt: incompatible types for comparison"#
    );
    assert_eq!(
        exec_err("{{len .Zero}}", &c),
        r#"template: :1:2: executing "" at <len .Zero>: error calling len: len of type int"#
    );
}

#[test]
fn parse_errors() {
    assert_eq!(
        parse_err("{{.Foo}"),
        r#"template: :1: unexpected "}" in operand"#
    );
    assert_eq!(
        parse_err("{{foo}}"),
        r#"template: :1: function "foo" not defined"#
    );
    assert_eq!(parse_err("{{range .A}}"), "template: :1: unexpected EOF");
    assert_eq!(parse_err("{{end}}"), "template: :1: unexpected {{end}}");
    assert_eq!(
        parse_err("{{.A | 3}}"),
        "template: :1: non executable command in pipeline stage 2"
    );
    assert_eq!(
        parse_err("{{$u}}"),
        r#"template: :1: undefined variable "$u""#
    );
    assert_eq!(
        parse_err("{{\"x}}"),
        "template: :1: unterminated quoted string"
    );
    assert_eq!(
        parse_err("{{.A ^ .B}}"),
        r#"template: :1: unexpected "^" in operand"#
    );
    assert_eq!(
        parse_err("{{range .A}}{{else if .B}}{{end}}"),
        "template: :1: unexpected <if> in input"
    );
}

#[test]
fn docker_inspect_style_templates() {
    let c = container();
    assert_eq!(
        render("{{range .Mounts}}{{.Source}}:{{.Destination}}\n{{end}}", &c),
        "/data:/var/lib/data\n/logs:/var/log\n"
    );
    assert_eq!(
        render(
            "{{range $k, $v := .Config.Labels -}} {{ $k }}={{ $v }} {{ end -}}",
            &c
        ),
        "a=first z=last "
    );
    assert_eq!(
        render(
            "{{if eq .State.ExitCode 0}}{{.Name}} {{.State.ExitCode}}{{end}}",
            &c
        ),
        "/web 0"
    );
    assert_eq!(
        render("{{range .Config.Env}}{{println .}}{{end}}", &c),
        "PATH=/usr/bin\nA=<b>&c\n"
    );
}

#[test]
fn render_is_reusable() {
    let t = Template::parse("{{.A}}").unwrap();
    assert_eq!(t.render(&json!({"A": 1})).unwrap(), "1");
    assert_eq!(t.render(&json!({"A": "two"})).unwrap(), "two");
    assert_eq!(t.source(), "{{.A}}");
}

#[test]
fn odd_inputs_do_not_panic() {
    let data = json!({"A": {"B": [1, "x", null]}, "S": "héllo", "N": -3});
    let inputs = [
        "{{",
        "}}",
        "{{.}",
        "{{(}}",
        "{{)}}",
        "{{range}}",
        "{{$}}",
        "{{$.}}",
        "{{index}}",
        "{{slice .A.B 1 2 3 4}}",
        "{{slice .S 1 2 3}}",
        "{{slice .S 2 1}}",
        "{{slice .S 1 2}}",
        "{{printf}}",
        "{{/*",
        "{{/* */",
        "{{ .A.B.C.D }}",
        "{{-}}",
        "{{- -}}",
        "{{ - }}",
        "{{-3}}",
        "{{'}}",
        "{{'ab'}}",
        "{{\"\\x\"}}",
        "{{`",
        "{{.A | .B}}",
        "{{.A.B | index}}",
        "{{range .N}}x{{end}}",
        "{{range $i, $e := .N}}{{end}}",
        "{{else}}",
        "{{if 1}}{{else}}{{else}}{{end}}",
        "{{with}}",
        "{{(1).X}}",
        "{{nil.X}}",
        "{{(nil).X}}",
        "{{$x := 1}}{{$x.Y}}",
        "{{truncate .S 2}}",
        "{{truncate .S -1}}",
        "{{index .S 10}}",
        "{{index .A.B -1}}",
        "{{index .A \"B\" 2 0}}",
        "{{len}}",
        "{{eq}}",
        "{{eq 1}}",
        "{{lt .A .A}}",
        "{{printf \"%*d\" 5 1}}",
        "{{printf \"%.*f\" 2 1.0}}",
        "{{printf \"%[1]d\" 1}}",
        "{{printf \"%\"}}",
        "{{print .A.B}}",
        "{{0b101}} {{0o17}} {{1_000}} {{0x1p4}} {{1i}} {{1+2i}}",
        "{{99999999999999999999}}",
        "{{18446744073709551615}}",
        "{{.S.é}}",
        "{{é}}",
        "{{\u{1}}}",
        "{{range .A}}{{break}}{{end}}",
        "{{block \"x\" .}}{{end}}",
        "{{define \"x\"}}{{end}}",
    ];
    for src in inputs {
        if let Ok(t) = Template::parse(src) {
            let _ = t.render(&data);
        }
    }
    assert_eq!(render("{{slice .S 1 2}}", &data), "\u{fffd}");
    assert_eq!(render("{{truncate .S 2}}", &data), "h");
    assert_eq!(render("{{0b101}} {{0o17}} {{1_000}}", &data), "5 15 1000");
    assert_eq!(
        render("{{18446744073709551615}}", &data),
        "18446744073709551615"
    );
    assert_eq!(
        parse_err("{{99999999999999999999}}"),
        "template: :1: integer overflow: 99999999999999999999"
    );
}

// ---------------------------------------------------------------------------
// Memory bounds: `--format` must not be a way to exhaust memory.
// ---------------------------------------------------------------------------

/// A writer that fails once `limit` bytes went through it.
struct Sink {
    written: usize,
    limit: usize,
}

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written + buf.len() > self.limit {
            return Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        }
        self.written += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `range` over an integer counts; it never collects the indexes first
/// (this allocated 144 GB and aborted).
#[test]
fn range_over_a_huge_integer_is_lazy() {
    assert_eq!(
        render(
            "{{range $i := 1000000000}}{{if eq $i 3}}{{break}}{{end}}{{$i}}{{end}}",
            &json!({})
        ),
        "012"
    );
    assert_eq!(
        render(
            "{{range $i := 9223372036854775807}}{{if eq $i 2}}{{break}}{{end}}{{$i}}{{end}}",
            &json!({})
        ),
        "01"
    );
}

/// Output goes to the writer as it is made: a template printing a billion
/// characters fills the writer, not memory.
#[test]
fn output_streams_into_the_writer() {
    let t = Template::parse("{{range $i := 1000000000}}xxxxxxxx{{end}}").unwrap();
    let mut sink = Sink {
        written: 0,
        limit: 4 << 20,
    };
    match t.render_to(&json!({}), &mut sink) {
        Err(FormatError::Write { kind, .. }) => {
            assert_eq!(kind, std::io::ErrorKind::BrokenPipe)
        }
        other => panic!("expected the writer's error, got {other:?}"),
    }
    assert_eq!(sink.written, 4 << 20);
}

/// Go's `tooLarge`: docker 20.10 prints `%!(BADWIDTH)` (this hung at
/// 5.8 GB, padding to a billion).
#[test]
fn printf_widths_follow_gos_limits() {
    let d = json!({});
    assert_eq!(
        render("{{printf \"%*d\" 1000000000 1}}", &d),
        "%!(BADWIDTH)1"
    );
    assert_eq!(
        render("{{printf \"%.*f\" 1000000000 1.5}}", &d),
        "%!(BADPREC)1.500000"
    );
    assert_eq!(
        render("{{printf \"%99999999d\" 1}}", &d),
        "%!(NOVERB)%!(EXTRA int=1)"
    );
}

/// Values made by functions are bounded: doubling a string in a range,
/// padding or splitting into millions of parts is refused, not attempted.
#[test]
fn values_made_by_functions_are_bounded() {
    let d = json!({});
    let err = exec_err(
        "{{$s := \"x\"}}{{range 64}}{{$s = printf \"%s%s\" $s $s}}{{end}}{{len $s}}",
        &d,
    );
    assert!(
        err.contains("error calling printf: result too large (over 16 MiB)"),
        "{err}"
    );
    let err = exec_err("{{pad \"x\" 1000000000 0}}", &d);
    assert!(err.contains("error calling pad: result too large"), "{err}");
    let err = exec_err(
        "{{$s := \"x\"}}{{range 22}}{{$s = print $s $s}}{{end}}{{len (split $s \"\")}}",
        &d,
    );
    assert!(
        err.contains("error calling split: result too large"),
        "{err}"
    );
    let err = exec_err(
        "{{$s := printf \"%1000000s\" \"\"}}{{join (split \"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r\" \",\") $s}}",
        &d,
    );
    assert!(
        err.contains("error calling join: result too large"),
        "{err}"
    );
    let err = exec_err(
        "{{$s := printf \"%1000000s\" \"\"}}{{range 5}}{{$s = js (print $s \"<\" $s)}}{{end}}",
        &d,
    );
    assert!(err.contains("result too large"), "{err}");
    // Within the bound, nothing changes.
    assert_eq!(
        render(
            "{{len (printf \"%1000000s\" \"\")}} {{len (pad \"x\" 5 5)}}",
            &d
        ),
        "1000000 11"
    );
}
