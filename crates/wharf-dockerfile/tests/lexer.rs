//! Shell-word lexer: quoting, escapes, substitutions, word splitting.

use wharf_dockerfile::{empty_env, Lexer};

fn env(name: &str) -> Option<String> {
    match name {
        "PWD" => Some("/home".into()),
        "SHELL" => Some("bash".into()),
        "EMPTY" => Some(String::new()),
        "SPACED" => Some("  a  b ".into()),
        "FOO" => Some("xxyy".into()),
        "PATHS" => Some("/tmp/tmp/bar.txt".into()),
        _ => None,
    }
}

fn word(src: &str) -> Result<String, String> {
    Lexer::new('\\')
        .process_word(src, &env)
        .map_err(|e| e.to_string())
}

fn words(src: &str) -> Vec<String> {
    Lexer::new('\\').process_words(src, &env).unwrap()
}

#[test]
fn quotes_and_escapes() {
    let cases = [
        ("plain", "plain"),
        ("he'll'o", "hello"),
        ("he\\'llo", "he'llo"),
        ("abc\\tdef", "abctdef"),
        ("\"abc\\tdef\"", "abc\\tdef"),
        ("\"abc\\\\tdef\"", "abc\\tdef"),
        ("'abc\\tdef'", "abc\\tdef"),
        ("trail\\", "trail"),
        ("trail\\\\", "trail\\"),
        ("\"sin'gle\"", "sin'gle"),
        ("'back\\'", "back\\"),
        ("\"''\"", "''"),
        ("'\"dq\"'", "\"dq\""),
        ("\"a\\\"b\"", "a\"b"),
        ("'$PWD'", "$PWD"),
        ("'\\$PWD'", "\\$PWD"),
        ("안'녕'하세요", "안녕하세요"),
    ];
    for (src, expected) in cases {
        assert_eq!(word(src).as_deref(), Ok(expected), "{src}");
    }
}

#[test]
fn unterminated_quotes_are_errors() {
    for src in ["he'llo", "he\\\\'llo", "\"hello", "\"hello\\\"", "'hello"] {
        assert!(word(src).is_err(), "{src}");
    }
    assert_eq!(
        word("\"open").unwrap_err(),
        "failed to process \"\\\"open\": unexpected end of statement while looking for matching double-quote"
    );
}

#[test]
fn dollar_variables() {
    let cases = [
        ("he$PWD", "he/home"),
        ("he$pwd.", "he."),
        ("he\\$PWD", "he$PWD"),
        ("he\\\\$PWD", "he\\/home"),
        ("\"he\\$PWD\"", "he$PWD"),
        ("\"he\\\\$PWD\"", "he\\/home"),
        ("\"he'$PWD'\"", "he'/home'"),
        ("$.", "$."),
        ("he$1x", "hex"),
        ("he$.x", "he$.x"),
        ("$", "$"),
        ("$@@@", "@@"),
        ("$999aaa", "aaa"),
        ("he${PWD}", "he/home"),
        ("he${hi}xx", "hexx"),
        ("\\${}", "${}"),
        ("he\\${}xx", "he${}xx"),
        ("${aaa}}", "}"),
        ("$UNSET", ""),
    ];
    for (src, expected) in cases {
        assert_eq!(word(src).as_deref(), Ok(expected), "{src}");
    }
}

#[test]
fn defaults_and_alternatives() {
    let cases = [
        ("he${XXX:-000}xx", "he000xx"),
        ("he${PWD:-000}xx", "he/homexx"),
        ("he${XXX:-$PWD}xx", "he/homexx"),
        ("he${XXX:-${PWD:-yyy}}xx", "he/homexx"),
        ("he${XXX:-${YYY:-yyy}}xx", "heyyyxx"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${XXX-d}", "d"),
        ("he${XXX:+${PWD}}xx", "hexx"),
        ("he${PWD:+${XXX}}xx", "hexx"),
        ("he${PWD:+${SHELL}}xx", "hebashxx"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("he${PWD:+${PWD}:}xx", "he/home:xx"),
        ("he${XXX:-\\$PWD:}xx", "he$PWD:xx"),
        ("he${XXX:-\\${PWD}z}xx", "he${PWDz}xx"),
        ("${aaa:-bbb {foo}", "bbb {foo"),
        ("${aaa:-bbb}}", "bbb}"),
        ("${XXX:-\"a b\"}", "a b"),
        ("${1:-bbb}", "bbb"),
        ("${@:-bbb}aaa", "bbbaaa"),
        ("he${PWD?}", "he/home"),
        ("he${EMPTY?}", "he"),
    ];
    for (src, expected) in cases {
        assert_eq!(word(src).as_deref(), Ok(expected), "{src}");
    }
}

#[test]
fn substitution_errors() {
    for src in [
        "${}",
        "he${}xx",
        "he${.}",
        "he${XXX:YYY}",
        "he${XXX?}",
        "he${XXX:?}",
        "he${EMPTY:?}",
        "he${PWD",
        "he${PWD:=000}xx",
        "${FOO=aaa}",
        "${{aaa}",
        "${aaa:-bbb",
        "${aaa:-bbb ${foo}",
        "${:}",
        "${:-bbb}",
        "${FOO:#x}",
        "${FOO:%%x}",
        "${FOO//ww}",
    ] {
        assert!(word(src).is_err(), "{src}");
    }
    assert_eq!(
        word("${XXX:?must be set}").unwrap_err(),
        "failed to process \"${XXX:?must be set}\": XXX: must be set"
    );
    assert_eq!(
        word("${EMPTY:?}").unwrap_err(),
        "failed to process \"${EMPTY:?}\": EMPTY: is not allowed to be empty"
    );
    assert_eq!(
        word("${XXX?}").unwrap_err(),
        "failed to process \"${XXX?}\": XXX: is not allowed to be unset"
    );
    assert_eq!(
        word("${}").unwrap_err(),
        "failed to process \"${}\": syntax error: bad substitution"
    );
}

#[test]
fn pattern_removal_and_replacement() {
    let cases = [
        ("${FOO#*x}", "xyy"),
        ("${FOO##*x}", "yy"),
        ("${FOO%y*}", "xxy"),
        ("${FOO%%y*}", "xx"),
        ("${FOO#}", "xxyy"),
        ("${FOO%x}", "xxyy"),
        ("${FOO#$SHELL}", "xxyy"),
        ("${UNSET#x}", ""),
        ("${PATHS/\\/tmp/}", "/tmp/bar.txt"),
        ("${PATHS//\\/tmp/}", "/bar.txt"),
        ("${PATHS//\\//\\/}", "\\/tmp\\/tmp\\/bar.txt"),
        ("${FOO/x/a}", "axyy"),
        ("${FOO//x/a}", "aayy"),
        ("${FOO/?y/-}", "x-y"),
        ("${FOO///}", "xxyy"),
    ];
    for (src, expected) in cases {
        assert_eq!(word(src).as_deref(), Ok(expected), "{src}");
    }
}

#[test]
fn word_splitting() {
    assert_eq!(words("\"a b\" c"), ["a b", "c"]);
    assert_eq!(words("hello there     "), ["hello", "there"]);
    assert_eq!(words("hello\\ there"), ["hello there"]);
    assert_eq!(words("hello\\\" there"), ["hello\"", "there"]);
    assert_eq!(words("x${SPACED}y"), ["x", "a", "b", "y"]);
    assert_eq!(words("x\"${SPACED}\"y"), ["x  a  b y"]);
    assert_eq!(words("a \"\" b"), ["a", "b"]);
    assert_eq!(words("'$PWD' $PWD"), ["$PWD", "/home"]);
    assert_eq!(words("80/tcp 443"), ["80/tcp", "443"]);
    assert!(words("").is_empty());
}

#[test]
fn matches_report_referenced_variables() {
    let e = Lexer::new('\\')
        .process_word_with_matches("${PWD:-a} $XXX ${EMPTY+b} $PWD ${YYY:-$SHELL}", &env)
        .unwrap();
    assert_eq!(e.value, "/home  b /home bash");
    assert_eq!(e.refs.matched, ["PWD", "EMPTY", "SHELL"]);
    assert_eq!(e.refs.unmatched, ["XXX", "YYY"]);
    assert_eq!(e.refs.all(), ["PWD", "EMPTY", "SHELL", "XXX", "YYY"]);

    let e = Lexer::new('\\')
        .process_word_with_matches("'$PWD' \\$SHELL", &env)
        .unwrap();
    assert!(e.refs.is_empty());
}

#[test]
fn backtick_escape() {
    let lex = Lexer::new('`');
    assert_eq!(lex.process_word("a`$PWD", &env).unwrap(), "a$PWD");
    assert_eq!(
        lex.process_word("C:\\path\\$PWD", &env).unwrap(),
        "C:\\path\\/home"
    );
    assert_eq!(lex.process_word("\"q`\"x\"", &env).unwrap(), "q\"x");
    assert_eq!(lex.process_word("\"a\\b\"", &env).unwrap(), "a\\b");
    assert_eq!(lex.process_words("a` b c", &env).unwrap(), ["a b", "c"]);
}

#[test]
fn lexer_options() {
    let raw = Lexer::new('\\').with_raw_quotes(true);
    assert_eq!(
        raw.process_word("'a' \"b\"", &empty_env).unwrap(),
        "'a' \"b\""
    );
    let keep = Lexer::new('\\').with_skip_unset_env(true);
    assert_eq!(
        keep.process_word("$X ${Y} ${Z:-d} $PWD", &env).unwrap(),
        "$X ${Y} ${Z:-d} /home"
    );
    let heredoc = Lexer::new('\\').with_skip_process_quotes(true);
    assert_eq!(
        heredoc
            .process_word("echo \"$PWD\" '$SHELL'", &env)
            .unwrap(),
        "echo \"/home\" 'bash'"
    );
    let escapes = Lexer::new('\\').with_raw_escapes(true);
    assert_eq!(escapes.process_word("a\\ b", &empty_env).unwrap(), "a\\ b");
}
