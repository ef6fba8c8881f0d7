"""The national layout of official documents (GB/T 9704-2012 党政机关公文格式) as python-docx
calls: A4 with its margins and 22 lines of 28 characters, the red 发文机关标志 and separator
line, the 文号, the title in 2号小标宋, the body in 3号仿宋 with its headings' faces, the
signature over the 成文日期 with room for the seal, and page numbers `— 1 —`.

Fonts are named as offices have them (方正小标宋简体, 仿宋_GB2312, 黑体, 楷体_GB2312, 宋体): Word on
an office PC uses them; for PDFs on this server, fontconfig maps them to free CJK faces
(documents/fonts.conf). Every run says its language is zh-CN, so a converter never takes the
Japanese forms of the shared ideographs.

Measured with LibreOffice 7.4 (research in the #24 notes): a document grid of type
linesAndChars makes LibreOffice give each character two cells, so the grid is described by its
line pitch only and the 28 characters come from a character spacing of -0.25 pt."""

from __future__ import annotations

from dataclasses import dataclass

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Length, Mm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph
from docx.text.run import Run

FANGSONG, XIAOBIAOSONG, HEITI, KAITI, SONG = (
    "仿宋_GB2312",
    "方正小标宋简体",
    "黑体",
    "楷体_GB2312",
    "宋体",
)
BODY_PT = 16  # 3号
TITLE_PT = 22  # 2号
PAGE_NUMBER_PT = 14  # 4号
LINE = Pt(28.95)  # 版心 225 mm / 22 lines
TEXT_WIDTH_PT = 156 / 25.4 * 72  # 版心 156 mm
RED = RGBColor(0xFF, 0x00, 0x00)
# The body's run spacing in 1/20 pt: 16 pt - 0.25 pt puts 28 characters in 156 mm.
CHAR_SPACING = -5
# 发文机关标志: at most this size, smaller for a long name so that it fits one line.
MARK_MAX_PT = 42
# The headings of the body: 一、 in 黑体, （一） in 楷体, 1. in bold 仿宋, （1） in 仿宋.
HEADINGS = {"h1": (HEITI, False), "h2": (KAITI, False), "h3": (FANGSONG, True)}


@dataclass(frozen=True)
class Block:
    """One paragraph of a notice's body: `kind` p (indented two characters), h1/h2/h3 (a
    heading, indented as a paragraph), to (the 主送, flush left), loop (a docxtpl paragraph
    loop tag `{%p … %}` — its own paragraph, removed when rendered)."""

    kind: str
    text: str


def _el(tag: str, **attrs: str) -> BaseOxmlElement:
    """An element by its prefixed name written with an underscore (w_pBdr for w:pBdr), its
    attributes likewise."""
    element = OxmlElement(tag.replace("_", ":", 1))
    for key, value in attrs.items():
        element.set(qn(key.replace("_", ":", 1)), value)
    return element


def _rpr_fonts(rpr: BaseOxmlElement, east_asia: str, latin: str | None = None) -> None:
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    latin = latin or east_asia
    for attr, value in (
        ("w:ascii", latin),
        ("w:hAnsi", latin),
        ("w:eastAsia", east_asia),
        ("w:cs", latin),
    ):
        fonts.set(qn(attr), value)
    fonts.set(qn("w:hint"), "eastAsia")


def _rpr_chinese(rpr: BaseOxmlElement) -> None:
    """Chinese text (zh-CN: the SC forms of the ideographs); digits and Latin letters stay
    western (en-US), so a number is never broken across lines (202|6年)."""
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")


def run(
    paragraph: Paragraph,
    text: str,
    font: str = FANGSONG,
    size: float = BODY_PT,
    *,
    bold: bool = False,
    color: RGBColor | None = None,
) -> Run:
    """A run of text in a named face and size, said to be Chinese."""
    r = paragraph.add_run(text)
    rpr = r._r.get_or_add_rPr()
    _rpr_fonts(rpr, font)
    r.font.size = Pt(size)
    r.font.bold = bold
    if color is not None:
        r.font.color.rgb = color
    _rpr_chinese(rpr)
    return r


def document() -> DocxDocument:
    """An empty A4 page in the layout: margins 37/35/28/26 mm, the body style."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.header_distance, section.footer_distance = Mm(15), Mm(25)
    grid = section._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        section._sectPr.append(grid)
    grid.set(qn("w:linePitch"), "579")  # 28.95 pt: 22 lines (no type: see the module note)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(BODY_PT)
    rpr = normal.element.get_or_add_rPr()
    _rpr_fonts(rpr, FANGSONG)
    size = rpr.find(qn("w:sz"))
    spacing = _el("w_spacing", w_val=str(CHAR_SPACING))
    if size is not None:
        size.addprevious(spacing)  # CT_RPr order: … color, spacing, w, kern, position, sz
    else:
        rpr.append(spacing)
    _rpr_chinese(rpr)
    pf = normal.paragraph_format
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = LINE
    pf.space_before = pf.space_after = Pt(0)
    pf.widow_control = True
    # No extra space between Chinese and Latin letters or digits (2026年, not 2026 年).
    ppr = normal.element.get_or_add_pPr()
    anchor = next(
        (ppr.find(qn(t)) for t in ("w:spacing", "w:ind", "w:jc") if ppr.find(qn(t)) is not None),
        None,
    )
    for tag in ("w_autoSpaceDE", "w_autoSpaceDN"):
        off = _el(tag, w_val="0")
        if anchor is not None:
            anchor.addprevious(off)
        else:
            ppr.append(off)
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        default_rpr = defaults.find(qn("w:rPrDefault"))
        if default_rpr is not None and default_rpr.find(qn("w:rPr")) is not None:
            _rpr_chinese(default_rpr.find(qn("w:rPr")))
    _page_numbers(doc)
    return doc


def paragraph(
    doc: DocxDocument,
    text: str = "",
    *,
    font: str = FANGSONG,
    size: float = BODY_PT,
    bold: bool = False,
    align: WD_ALIGN_PARAGRAPH | None = None,
    first_line: float = 0,
    right: float = 0,
    color: RGBColor | None = None,
    keep_next: bool = False,
    line: Length | None = LINE,
) -> Paragraph:
    """A paragraph; indents in characters of its size (Word reads the *Chars values,
    LibreOffice the twips beside them)."""
    p = doc.add_paragraph()
    pf = p.paragraph_format
    if align is not None:
        p.alignment = align
    if line is not None:
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = line
    if first_line or right:
        ind = p._p.get_or_add_pPr().get_or_add_ind()
        if first_line:
            ind.set(qn("w:firstLineChars"), str(round(first_line * 100)))
            ind.set(qn("w:firstLine"), str(round(first_line * size * 20)))
        if right:
            ind.set(qn("w:rightChars"), str(round(right * 100)))
            ind.set(qn("w:right"), str(round(right * size * 20)))
    if keep_next:
        pf.keep_with_next = True
    if text:
        run(p, text, font, size, bold=bold, color=color)
    return p


def _rule_below(p: Paragraph, *, width_pt: float = 1.5, space_pt: int = 7) -> None:
    """The red separator: the paragraph's bottom border, as wide as the text column."""
    ppr = p._p.get_or_add_pPr()
    borders = _el("w_pBdr")
    borders.append(
        _el("w_bottom", w_val="single", w_sz=str(round(width_pt * 8)), w_space=str(space_pt),
            w_color="FF0000")
    )  # fmt: skip
    # CT_PPr order: pBdr before shd, tabs, spacing, ind, jc.
    for tag in ("w:shd", "w:tabs", "w:spacing", "w:ind", "w:jc"):
        anchor = ppr.find(qn(tag))
        if anchor is not None:
            anchor.addprevious(borders)
            return
    ppr.append(borders)


def _field(p: Paragraph, instruction: str) -> None:
    """A complex field (PAGE) whose result the reader computes."""
    for piece in ("begin", "instr", "separate", "result", "end"):
        r = run(p, "1" if piece == "result" else "", SONG, PAGE_NUMBER_PT)
        if piece == "instr":
            text = _el("w_instrText")
            text.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            text.text = f" {instruction} "
            r._r.append(text)
        elif piece != "result":
            r._r.append(_el("w_fldChar", w_fldCharType=piece))


def _page_numbers(doc: DocxDocument) -> None:
    """— 1 —, 4号宋体, one character in from the outer edge: odd pages right, even left."""
    doc.settings.odd_and_even_pages_header_footer = True
    section = doc.sections[0]
    for footer, align, side in (
        (section.footer, WD_ALIGN_PARAGRAPH.RIGHT, "w:right"),
        (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT, "w:left"),
    ):
        footer.is_linked_to_previous = False
        p = footer.paragraphs[0]
        p.alignment = align
        p.paragraph_format.line_spacing = 1.0
        p._p.get_or_add_pPr().get_or_add_ind().set(qn(side), str(PAGE_NUMBER_PT * 20))
        run(p, "— ", SONG, PAGE_NUMBER_PT)
        _field(p, "PAGE")
        run(p, " —", SONG, PAGE_NUMBER_PT)


def width_in_chars(text: str) -> float:
    """How many body characters wide a line is (a Latin letter or digit is half)."""
    return sum(0.5 if ord(ch) < 0x2E80 else 1.0 for ch in text)


def head(doc: DocxDocument, office: str, *, number: str, title: str) -> None:
    """版头 and title: the office's name in red 小标宋 35 mm below the text column's top, the
    文号 two lines under it with the red line below, the title two lines under that."""
    size = min(MARK_MAX_PT, int(TEXT_WIDTH_PT / max(width_in_chars(office), 1)))
    mark = paragraph(
        doc, office, font=XIAOBIAOSONG, size=size, align=WD_ALIGN_PARAGRAPH.CENTER, color=RED,
        line=Pt(size * 1.2),
    )  # fmt: skip
    mark.paragraph_format.space_before = Mm(35)
    paragraph(doc)
    paragraph(doc)
    numbered = paragraph(doc, number, align=WD_ALIGN_PARAGRAPH.CENTER)
    _rule_below(numbered)
    paragraph(doc)
    paragraph(doc)
    paragraph(
        doc, title, font=XIAOBIAOSONG, size=TITLE_PT, align=WD_ALIGN_PARAGRAPH.CENTER,
        line=Pt(TITLE_PT * 1.5),
    )  # fmt: skip
    paragraph(doc)


def body(doc: DocxDocument, blocks: list[Block]) -> None:
    """The text: the 主送 flush left, paragraphs and headings indented two characters; the
    last paragraph keeps with the signature that follows."""
    for i, block in enumerate(blocks):
        last = i == len(blocks) - 1
        if block.kind == "loop":
            paragraph(doc, block.text, keep_next=last)
        elif block.kind == "to":
            paragraph(doc, block.text, keep_next=last)
        else:
            font, bold = HEADINGS.get(block.kind, (FANGSONG, False))
            paragraph(
                doc, block.text, font=font, bold=bold, first_line=2,
                keep_next=last or block.kind in HEADINGS,
            )  # fmt: skip


# How wide a 成文日期 is (2026年12月25日), for the signature's place over a date field.
DATE_WIDTH = width_in_chars("2026年12月25日")


def signature(doc: DocxDocument, office: str, day: str, *, space: int = 2) -> None:
    """署名 and 成文日期 for a sealed document: `space` empty lines under the text for the
    seal to press on, the date four characters in from the right, the office's name centred
    over the date; kept with the text above, so neither stands alone on a page."""
    for _ in range(space):
        paragraph(doc, keep_next=True)
    offset = 4 + (DATE_WIDTH - width_in_chars(office)) / 2
    paragraph(doc, office, align=WD_ALIGN_PARAGRAPH.RIGHT, right=max(offset, 0), keep_next=True)
    dated = paragraph(doc, day, align=WD_ALIGN_PARAGRAPH.RIGHT, right=4)
    dated.paragraph_format.keep_together = True


def form_head(doc: DocxDocument, office: str, *, number: str, title: str) -> None:
    """A form's head (the 送达回证, which the recipient signs at the door): the office and the
    title, the 文号 under them on the right — one page with its table."""
    paragraph(doc, office, font=XIAOBIAOSONG, size=BODY_PT, align=WD_ALIGN_PARAGRAPH.CENTER)
    paragraph(
        doc, title, font=XIAOBIAOSONG, size=TITLE_PT, align=WD_ALIGN_PARAGRAPH.CENTER,
        line=Pt(TITLE_PT * 1.8),
    )  # fmt: skip
    paragraph(doc, number, align=WD_ALIGN_PARAGRAPH.RIGHT)


def table(doc: DocxDocument, rows: list[tuple[str, str, float]], *, label_mm: float = 40) -> Table:
    """A form's table: labels in 黑体 on the left, the values beside them; each row as high
    as its third value (mm, at least) for handwriting."""
    from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT

    grid = doc.add_table(rows=len(rows), cols=2)
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    # LibreOffice reads the grid's column widths, Word the cells'.
    grid.columns[0].width, grid.columns[1].width = Mm(label_mm), Mm(156 - label_mm)
    for row, (label, value, high) in zip(grid.rows, rows, strict=True):
        row.height = Mm(high)
        row.cells[0].width, row.cells[1].width = Mm(label_mm), Mm(156 - label_mm)
        for cell in row.cells:
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        left, right = row.cells[0].paragraphs[0], row.cells[1].paragraphs[0]
        left.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run(left, label, HEITI, BODY_PT)
        for i, line in enumerate(value.split("\n")):
            p = right if i == 0 else row.cells[1].add_paragraph()
            if line:
                run(p, line, FANGSONG, BODY_PT)
    return grid
