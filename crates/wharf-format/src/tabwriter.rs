//! A port of Go's `text/tabwriter` (the elastic tabstops docker aligns its
//! tables with).
//!
//! Text is made of cells: a cell is terminated by a tab (`\t`, or `\v` for a
//! "soft" cell). The text after the last tab of a line is not a cell and is
//! never padded. A *column block* is a run of consecutive lines that all have
//! a cell in that column; within a block every cell is padded to the widest
//! cell plus `padding`, and to at least `minwidth`. Widths count Unicode
//! scalar values, like Go counts runes. A form feed (`\f`) ends a line and
//! also a section: columns never align across it.

/// Configuration of a tab writer (Go's `tabwriter.NewWriter` arguments, with
/// `flags == 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TabWriter {
    /// Minimal cell width including any padding.
    pub minwidth: usize,
    /// Width of a tab character; only used when `padchar` is `'\t'`.
    pub tabwidth: usize,
    /// Padding added to a cell before computing its width.
    pub padding: usize,
    /// Character used for padding; `'\t'` means "pad with tabs".
    pub padchar: char,
}

impl TabWriter {
    /// The writer every docker table uses:
    /// `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`.
    pub const fn docker() -> TabWriter {
        TabWriter {
            minwidth: 10,
            tabwidth: 1,
            padding: 3,
            padchar: ' ',
        }
    }

    /// Aligns `text` and returns the result (what Go's writer emits after
    /// `Write(text)` followed by `Flush()`).
    pub fn format(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + text.len() / 2);
        let mut sections = text.split('\u{c}').peekable();
        while let Some(section) = sections.next() {
            let lines: Vec<Vec<Cell<'_>>> = section.split('\n').map(split_cells).collect();
            let mut fmt = Formatter {
                cfg: self,
                lines: &lines,
                widths: Vec::new(),
                out: &mut out,
            };
            fmt.format(0, lines.len());
            if sections.peek().is_some() {
                // The form feed terminated the section's last line.
                out.push('\n');
            }
        }
        out
    }
}

impl Default for TabWriter {
    fn default() -> Self {
        TabWriter::docker()
    }
}

/// One cell: its text and width in characters. (Go also records whether a
/// cell was tab- or `\v`-terminated, which only matters for flags docker
/// does not use.)
struct Cell<'a> {
    text: &'a str,
    width: usize,
}

fn split_cells(line: &str) -> Vec<Cell<'_>> {
    line.split(['\t', '\u{b}'])
        .map(|text| Cell {
            text,
            width: text.chars().count(),
        })
        .collect()
}

struct Formatter<'c, 'l, 'o> {
    cfg: &'c TabWriter,
    lines: &'l [Vec<Cell<'l>>],
    /// Widths of the columns to the left of the one being formatted.
    widths: Vec<usize>,
    out: &'o mut String,
}

impl Formatter<'_, '_, '_> {
    /// Go's `Writer.format`: formats lines `line0..line1`, recursing into
    /// column blocks. Returns nothing; output goes to `self.out`.
    fn format(&mut self, mut line0: usize, line1: usize) {
        let column = self.widths.len();
        let mut this = line0;
        while this < line1 {
            // A cell exists in this column if the line has more than
            // `column + 1` cells (the last one is the trailing text).
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            // Print unprinted lines until the beginning of the block.
            self.write_lines(line0, this);
            line0 = this;

            // Column block: all following lines with a cell in this column.
            let mut width = self.cfg.minwidth;
            while this < line1 {
                let line = &self.lines[this];
                if column + 1 >= line.len() {
                    break;
                }
                width = width.max(line[column].width + self.cfg.padding);
                this += 1;
            }

            // Format and print all columns to the right of this one.
            self.widths.push(width);
            self.format(line0, this);
            self.widths.pop();
            line0 = this;
        }
        self.write_lines(line0, line1);
    }

    fn write_lines(&mut self, line0: usize, line1: usize) {
        for i in line0..line1 {
            let line = &self.lines[i];
            for (j, cell) in line.iter().enumerate() {
                self.out.push_str(cell.text);
                if j + 1 < line.len() && j < self.widths.len() {
                    self.write_padding(cell.width, self.widths[j]);
                }
            }
            if i + 1 < self.lines.len() {
                self.out.push('\n');
            }
        }
    }

    fn write_padding(&mut self, textw: usize, cellw: usize) {
        if self.cfg.padchar == '\t' {
            let tw = self.cfg.tabwidth;
            if tw == 0 {
                return;
            }
            let cellw = cellw.div_ceil(tw) * tw;
            let n = cellw.saturating_sub(textw);
            self.out.extend(std::iter::repeat_n('\t', n.div_ceil(tw)));
            return;
        }
        let n = cellw.saturating_sub(textw);
        self.out.extend(std::iter::repeat_n(self.cfg.padchar, n));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docker(s: &str) -> String {
        TabWriter::docker().format(s)
    }

    #[test]
    fn docker_images_table() {
        let input = "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\n\
                     busybox\tlocal\t0d3b1f5d8b6a\t2 minutes ago\t2.03MB\n";
        assert_eq!(
            docker(input),
            "REPOSITORY   TAG       IMAGE ID       CREATED         SIZE\n\
             busybox      local     0d3b1f5d8b6a   2 minutes ago   2.03MB\n"
        );
    }

    #[test]
    fn uneven_widths_and_long_cells() {
        let input = "a\tbb\tccc\n\
                     a-very-long-cell-value\tb\tc\n\
                     x\ty\n";
        assert_eq!(
            docker(input),
            "a                        bb        ccc\n\
             a-very-long-cell-value   b         c\n\
             x                        y\n"
        );
    }

    #[test]
    fn blocks_end_at_lines_without_the_column() {
        // The third line has no cell in column 1, so the block of column 1
        // (lines 1-2) is separate from the one on line 4.
        let input = "a\tb\tc\n\
                     a\tbbbbbbbbbbbbbbb\tc\n\
                     only-one-cell\tz\n\
                     a\tb\tc\n";
        assert_eq!(
            docker(input),
            "a               b                 c\n\
             a               bbbbbbbbbbbbbbb   c\n\
             only-one-cell   z\n\
             a               b         c\n"
        );
    }

    #[test]
    fn lines_without_tabs_break_blocks() {
        let input = "ab\tc\nplain text line\nabcdefghijklmn\td\n";
        assert_eq!(
            docker(input),
            "ab        c\nplain text line\nabcdefghijklmn   d\n"
        );
    }

    #[test]
    fn unicode_widths_count_characters() {
        let input = "héllo\tx\nab\ty\n";
        assert_eq!(docker(input), "héllo     x\nab        y\n");
    }

    #[test]
    fn empty_cells_are_padded() {
        let input = "\tx\nabc\ty\n";
        assert_eq!(docker(input), "          x\nabc       y\n");
    }

    #[test]
    fn missing_final_newline_and_trailing_tab() {
        assert_eq!(docker("a\tb"), "a         b");
        assert_eq!(docker("a\t\n"), "a         \n");
        assert_eq!(docker(""), "");
    }

    #[test]
    fn form_feed_separates_sections() {
        let input = "a\tb\n\u{c}abcdefghijkl\tc\n";
        assert_eq!(docker(input), "a         b\n\nabcdefghijkl   c\n");
    }

    #[test]
    fn custom_configuration() {
        let w = TabWriter {
            minwidth: 0,
            tabwidth: 8,
            padding: 1,
            padchar: '.',
        };
        assert_eq!(w.format("a\tb\nccc\td\n"), "a...b\nccc.d\n");
        let tabs = TabWriter {
            minwidth: 0,
            tabwidth: 8,
            padding: 1,
            padchar: '\t',
        };
        assert_eq!(
            tabs.format("a\tb\nccccccccc\td\n"),
            "a\t\tb\nccccccccc\td\n"
        );
    }
}
