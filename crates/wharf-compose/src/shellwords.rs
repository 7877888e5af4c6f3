//! A command string split into words as compose-go does it (the
//! go-shellwords package): blanks separate words, quotes group, a backslash
//! escapes, and an unquoted `;`, `&`, `|`, `<` or `>` ends the command
//! (what follows is dropped, as in Compose).

pub fn split(line: &str) -> Result<Vec<String>, String> {
    let mut args = Vec::new();
    let mut buf = String::new();
    let (mut escaped, mut single, mut double, mut got) = (false, false, false, false);
    for c in line.chars() {
        if escaped {
            buf.push(c);
            escaped = false;
            got = true;
            continue;
        }
        if c == '\\' {
            if single {
                buf.push(c);
            } else {
                escaped = true;
            }
            continue;
        }
        if c.is_whitespace() {
            if single || double {
                buf.push(c);
            } else if got {
                args.push(std::mem::take(&mut buf));
                got = false;
            }
            continue;
        }
        match c {
            '"' if !single => {
                double = !double;
                got = true;
                continue;
            }
            '\'' if !double => {
                single = !single;
                got = true;
                continue;
            }
            ';' | '&' | '|' | '<' | '>' if !(single || double) => break,
            _ => {}
        }
        got = true;
        buf.push(c);
    }
    if got {
        args.push(buf);
    }
    if escaped || single || double {
        return Err("invalid command line string".into());
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(
            split(r#"echo "a b" 'c d' e\ f && echo g"#).unwrap(),
            vec!["echo", "a b", "c d", "e f"]
        );
        assert_eq!(
            split(r#"sh -c "x;y" ; z"#).unwrap(),
            vec!["sh", "-c", "x;y"]
        );
        assert_eq!(split("a ''").unwrap(), vec!["a", ""]);
        assert!(split("'open").is_err());
    }
}
