//! Heredocs on RUN, COPY, ADD and ONBUILD.

use wharf_dockerfile::{
    expand_heredoc_content, parse, CommandForm, Heredoc, Instruction, InstructionKind,
    SourceContent,
};

fn body(src: &str) -> Vec<Instruction> {
    parse(&format!("FROM alpine\n{src}"))
        .unwrap()
        .stages
        .remove(0)
        .instructions
}

fn doc(name: &str, content: &str, expand: bool, chomp: bool) -> Heredoc {
    Heredoc {
        name: name.into(),
        file_descriptor: 0,
        expand,
        chomp,
        content: content.into(),
    }
}

#[test]
fn run_with_two_heredocs() {
    let ins = body(
        "RUN <<EOF1 <<-'EOF2' cat\n\
         echo one $A\n\
         EOF1\n\
         \tindented $B\n\
         \tEOF2\n\
         RUN after\n",
    );
    assert_eq!(ins.len(), 2);
    let run = &ins[0];
    assert_eq!((run.start_line, run.end_line), (2, 6));
    let InstructionKind::Run(r) = &run.kind else {
        panic!()
    };
    assert_eq!(r.command, CommandForm::Shell("<<EOF1 <<-'EOF2' cat".into()));
    assert_eq!(
        run.heredocs,
        [
            doc("EOF1", "echo one $A\n", true, false),
            doc("EOF2", "\tindented $B\n", false, true),
        ]
    );
    assert_eq!(run.heredocs[1].chomped_content(), "indented $B\n");
    assert_eq!(run.original, "RUN <<EOF1 <<-'EOF2' cat");
    assert_eq!(ins[1].start_line, 7);
}

#[test]
fn heredoc_body_is_raw() {
    let ins = body("RUN <<EOF\n# not a comment\n\nline \\\n  \"quoted\"\nEOF\n");
    assert_eq!(
        ins[0].heredocs[0].content,
        "# not a comment\n\nline \\\n  \"quoted\"\n"
    );
}

#[test]
fn copy_heredoc_sources() {
    let ins = body(
        "COPY <<-EOF <<\"RAW\" ./local.txt /app/\n\
         \tline $X\n\
         EOF\n\
         $Y\n\
         RAW\n",
    );
    let InstructionKind::Copy(c) = &ins[0].kind else {
        panic!()
    };
    assert_eq!(c.sources, ["./local.txt"]);
    assert_eq!(c.dest, "/app/");
    assert_eq!(
        c.contents,
        [
            SourceContent {
                path: "EOF".into(),
                data: "line $X\n".into(),
                expand: true
            },
            SourceContent {
                path: "RAW".into(),
                data: "$Y\n".into(),
                expand: false
            },
        ]
    );
    let x = |n: &str| (n == "X").then(|| "\"1\"".to_string());
    assert_eq!(
        expand_heredoc_content(&c.contents[0].data, &x).unwrap().0,
        "line \"1\"\n"
    );
}

#[test]
fn add_heredoc_and_fd() {
    let ins = body("ADD <<EOF /etc/motd\nhello\nEOF\nRUN 3<<EOF cat /dev/fd/3\nx\nEOF\n");
    let InstructionKind::Add(a) = &ins[0].kind else {
        panic!()
    };
    assert_eq!(a.contents[0].data, "hello\n");
    assert!(a.sources.is_empty());
    assert_eq!(ins[1].heredocs[0].file_descriptor, 3);
}

#[test]
fn heredocs_only_on_run_copy_add_shell_form() {
    let ins = body("RUN [\"<<EOF\"]\nCMD <<EOF\nRUN echo '<<EOF'\n");
    assert_eq!(ins.len(), 3);
    assert!(ins.iter().all(|i| i.heredocs.is_empty()));
}

#[test]
fn onbuild_heredoc() {
    let ins = body("ONBUILD RUN <<EOF\necho hi\nEOF\n");
    let InstructionKind::OnBuild(o) = &ins[0].kind else {
        panic!()
    };
    assert_eq!(o.expression, "RUN <<EOF\necho hi\nEOF");
    let trigger = wharf_dockerfile::parse_trigger(&o.expression).unwrap();
    assert_eq!(trigger[0].heredocs, [doc("EOF", "echo hi\n", true, false)]);
}

#[test]
fn heredoc_errors() {
    assert_eq!(
        parse("FROM x\nRUN <<EOF\nno end\n")
            .unwrap_err()
            .to_string(),
        "Dockerfile:2: unterminated heredoc"
    );
    assert_eq!(
        parse("FROM x\nCOPY /foo <<EOF\nEOF\n")
            .unwrap_err()
            .to_string(),
        "Dockerfile:2: COPY cannot accept a heredoc as a destination"
    );
}
