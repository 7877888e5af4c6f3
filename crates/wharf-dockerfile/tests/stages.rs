//! Whole Dockerfiles: stages, meta ARGs, seed files.

use wharf_dockerfile::{empty_env, parse, ArgDef, CommandForm, InstructionKind};

const NODE: &str = "# Stage 1: Build the application
FROM node:18 as build
WORKDIR /app
COPY package.json ./
RUN npm install
COPY . .
FROM node:18-slim
WORKDIR /app
COPY --from=build /app .
EXPOSE 3000
CMD [\"npm\", \"start\"]
";

const GO: &str = "# syntax=docker/dockerfile:1
ARG GO_VERSION=1.21
FROM golang:${GO_VERSION} AS builder
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/app .

FROM scratch
COPY --from=builder /out/app /app
ENTRYPOINT [\"/app\"]
";

#[test]
fn node_seed() {
    let df = parse(NODE).unwrap();
    assert!(df.meta_args.is_empty());
    assert_eq!(df.stages.len(), 2);

    let build = &df.stages[0];
    assert_eq!(build.index, 0);
    assert_eq!(build.name.as_deref(), Some("build"));
    assert_eq!(build.base_name, "node:18");
    assert_eq!(build.platform, None);
    assert_eq!(build.from.original, "FROM node:18 as build");
    assert_eq!(build.from.start_line, 2);
    let names: Vec<&str> = build.instructions.iter().map(|i| i.name()).collect();
    assert_eq!(names, ["WORKDIR", "COPY", "RUN", "COPY"]);
    assert_eq!(build.instructions[2].original, "RUN npm install");
    assert_eq!(build.instructions[2].start_line, 5);

    let app = &df.stages[1];
    assert_eq!(app.index, 1);
    assert_eq!(app.name, None);
    assert_eq!(app.base_name, "node:18-slim");
    let InstructionKind::Copy(c) = &app.instructions[1].kind else {
        panic!()
    };
    assert_eq!(c.from.as_deref(), Some("build"));
    assert_eq!(c.sources, ["/app"]);
    assert_eq!(c.dest, ".");
    assert_eq!(
        app.instructions[2].kind,
        InstructionKind::Expose(vec!["3000".into()])
    );
    assert_eq!(
        app.instructions[3].kind,
        InstructionKind::Cmd(CommandForm::Exec(vec!["npm".into(), "start".into()]))
    );
    assert_eq!(app.instructions[3].end_line, 11);
    assert!(std::ptr::eq(df.stage("BUILD").unwrap(), build));
    assert!(std::ptr::eq(df.stage("1").unwrap(), app));
}

#[test]
fn go_seed_with_meta_arg() {
    let df = parse(GO).unwrap();
    assert_eq!(df.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
    assert_eq!(df.meta_args.len(), 1);
    assert_eq!(
        df.meta_arg_defs().cloned().collect::<Vec<_>>(),
        [ArgDef {
            name: "GO_VERSION".into(),
            default: Some("1.21".into())
        }]
    );

    let builder = &df.stages[0];
    assert_eq!(builder.name.as_deref(), Some("builder"));
    assert_eq!(builder.base_name, "golang:${GO_VERSION}");
    let lexer = df.lexer();
    let args = |n: &str| (n == "GO_VERSION").then(|| "1.21".to_string());
    assert_eq!(
        lexer.process_word(&builder.base_name, &args).unwrap(),
        "golang:1.21"
    );
    let InstructionKind::Run(run) = &builder.instructions[4].kind else {
        panic!()
    };
    assert_eq!(
        run.command,
        CommandForm::Shell("CGO_ENABLED=0 go build -o /out/app .".into())
    );
    let InstructionKind::Run(dl) = &builder.instructions[2].kind else {
        panic!()
    };
    assert_eq!(dl.mounts, ["type=cache,target=/go/pkg/mod"]);

    let final_stage = &df.stages[1];
    assert_eq!(final_stage.base_name, "scratch");
    assert_eq!(final_stage.from.start_line, 10);
    let InstructionKind::Copy(c) = &final_stage.instructions[0].kind else {
        panic!()
    };
    assert_eq!(c.from.as_deref(), Some("builder"));
    assert_eq!(
        (c.sources.as_slice(), c.dest.as_str()),
        (&["/out/app".to_string()][..], "/app")
    );
    assert_eq!(
        final_stage.instructions[1].kind,
        InstructionKind::Entrypoint(CommandForm::Exec(vec!["/app".into()]))
    );
}

#[test]
fn from_platform_and_args_after_from() {
    let df = parse(
        "ARG BASE=alpine\nARG TAG\nFROM --platform=$BUILDPLATFORM ${BASE}:${TAG:-latest} AS Build\nARG TAG\nRUN x\n",
    )
    .unwrap();
    assert_eq!(df.meta_args.len(), 2);
    let stage = &df.stages[0];
    assert_eq!(stage.platform.as_deref(), Some("$BUILDPLATFORM"));
    assert_eq!(stage.base_name, "${BASE}:${TAG:-latest}");
    assert_eq!(stage.name.as_deref(), Some("build"));
    assert_eq!(stage.instructions.len(), 2);
    assert_eq!(stage.instructions[0].name(), "ARG");

    let (from, refs) = stage
        .from
        .expand(&df.lexer(), &|n: &str| {
            (n == "BASE").then(|| "debian".to_string())
        })
        .unwrap();
    let InstructionKind::From(f) = from.kind else {
        panic!()
    };
    assert_eq!(f.image, "debian:latest");
    assert_eq!(f.platform.as_deref(), Some(""));
    assert_eq!(refs.matched, ["BASE"]);
    assert_eq!(refs.unmatched, ["TAG", "BUILDPLATFORM"]);
    let _ = empty_env;
}

#[test]
fn only_meta_args_gives_no_stages() {
    let df = parse("ARG A=1\n").unwrap();
    assert!(df.stages.is_empty());
    assert_eq!(df.meta_args.len(), 1);
}
