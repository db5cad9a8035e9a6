"""parse_oai_page on real arXiv OAI-PMH responses (tests/fixtures/oai, see PROVENANCE.md there)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from paperfeed.errors import BadInput, SourceError
from paperfeed.papers import Paper, Rejection
from paperfeed.sources import ParsedPage
from paperfeed.sources.oai import OaiError, parse_oai_page

FIX = Path(__file__).parent / "fixtures" / "oai"
MIKE = "mikesaelim_arXivOAIHarvester"
HEP_F = "inspirehep_hepcrawl/functional"
HEP_U = "inspirehep_hepcrawl/unit"
HIVE = "paperhive_oai-pmh/bodies"
LICENSE_NX = "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"


def load(name: str) -> bytes:
    return (FIX / name).read_bytes()


def parse(name: str) -> ParsedPage:
    return parse_oai_page(load(name), where=Path(name).name)


def papers(page: ParsedPage) -> list[Paper]:
    assert all(isinstance(i, Paper) for i in page.items), page.items
    return [i for i in page.items if isinstance(i, Paper)]


# --- every record page: ids in order, paging fields ------------------------------------------------------------

PAGES: list[tuple[str, list[str], dict[str, Any]]] = [
    (
        f"{MIKE}/ListRecordsResponse.xml",
        ["0704.0471", "0704.0716", "0704.0874", "0704.1109", "0704.1114", "0704.1586"],
        {
            "resumption_token": "726959|1001",
            "total": 58011,
            "start": 0,
            "response_date": "2015-01-06T20:49:59Z",
        },
    ),
    (f"{MIKE}/GetRecordResponse.xml", ["1302.2146"], {"response_date": "2015-01-06T20:48:16Z"}),
    (f"{HEP_F}/arxiv-physics-hep-th.xml", ["1412.8323", "1507.07790", "1607.01710"], {}),
    (f"{HEP_F}/arxiv-physics-hep-ex.xml", ["1706.05371", "1706.09418", "1707.00874"], {}),
    (f"{HEP_F}/arxiv-single.xml", ["1401.2122"], {"response_date": "2018-01-26T09:05:29Z"}),
    *[
        (f"{HEP_U}/sample_arxiv_record{n}.xml", [i], {})
        for n, i in enumerate(
            [
                "1601.03238",
                "1512.07978",
                "1603.00997",
                "1603.01251",
                "1603.05976",
                "1604.05585",
                "1606.06775",
                "1606.07066",
                "1606.07538",
                "1607.00786",
                "1606.04259",
            ]
        )
    ],
    (
        f"{HEP_U}/sample_arxiv_record.xml",
        [
            "1601.03238",
            "1512.07978",
            "1603.00997",
            "1603.01251",
            "1603.05976",
            "1604.05585",
            "1606.06775",
            "1606.07066",
            "1606.07538",
            "1607.00786",
            "1606.04259",
            "1808.04927",
        ],
        {},
    ),
    (f"{HIVE}/oaipmh-getrecord---should-get-a-record__0.xml", ["1412.8544"], {}),
    (f"{HIVE}/oaipmh-listrecords---should-list-identifiers-from-arxiv__1.xml", ["1412.8544", "hep-th/9504118"], {}),
    ("more/arxiv_oai_GetRecord_arXivRaw_1304.4214.xml", ["1304.4214"], {}),
    ("more/arxiv_oai_GetRecord_arXiv_0804.2273.xml", ["0804.2273"], {}),
    ("more/arxiv_oai_ListRecords_arXiv_0801.3931.xml", ["0801.3931"], {"response_date": "2013-04-03T13:56:49Z"}),
]


@pytest.mark.parametrize(("name", "ids", "paging"), PAGES, ids=[p[0] for p in PAGES])
def test_record_pages(name: str, ids: list[str], paging: dict[str, Any]) -> None:
    page = parse(name)
    found = papers(page)
    assert [p.id for p in found] == ids
    assert page.deleted == []
    expected = {"resumption_token": None, "total": None, "start": None, **paging}
    assert {k: getattr(page, k) for k in expected} == expected
    for p in found:
        assert p.source == "arxiv-oai"
        assert p.title and "\n" not in p.title and p.title == p.title.strip()
        assert p.abstract and not p.abstract.startswith(" ")
        assert p.authors and all(a.strip() == a and a for a in p.authors)
        assert p.categories and len(set(p.categories)) == len(p.categories)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.submitted or "")
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.updated or "")
        assert (p.submitted or "") <= (p.updated or "")
        # OAI-PMH says nothing of listings; arXivRaw's first-version time gives the day arXiv's schedule
        # announced it on (after the submission, a weekday), the arXiv format's bare date gives none.
        if "arXivRaw" in name or "mikesaelim" in name:
            ((day, kind),) = p.listing_days.items()
            assert kind == "derived" and day > (p.submitted or "") and date.fromisoformat(day).weekday() < 5
        else:
            assert p.listing_days == {}


# --- field values of individual records ---------------------------------------------------------------------------

FIELDS: list[tuple[str, str, dict[str, Any]]] = [
    # arXivRaw: versions, RFC 822 dates, one author string, space-separated DOIs
    (
        f"{MIKE}/GetRecordResponse.xml",
        "1302.2146",
        {
            "version": 2,
            "submitted": "2013-02-08",
            "updated": "2013-04-02",
            "title": "The Same-Sign Dilepton Signature of RPV/MFV SUSY",
            "authors": ["Joshua Berger", "Maxim Perelstein", "Michael Saelim", "Philip Tanedo"],
            "categories": ["hep-ph", "hep-ex"],
            "comments": "18 pages, 6 figures; v2: References added",
            "license": LICENSE_NX,
            "doi": None,
            "journal_ref": None,
        },
    ),
    (
        f"{MIKE}/ListRecordsResponse.xml",
        "0704.0471",
        {
            "version": 1,
            "submitted": "2007-04-03",
            "updated": "2007-04-03",
            "title": "Density dependence of the symmetry energy and the nuclear equation of state: "
            "A Dynamical and Statistical model perspective",
            "authors": ["D.V. Shetty", "S.J. Yennello", "G.A. Souliotis"],
            "categories": ["nucl-ex", "nucl-th"],
            "journal_ref": "Phys.Rev.C76:024606,2007; Erratum-ibid.C76:039902,2007",
            "doi": "10.1103/PhysRevC.76.024606",
            "license": None,
        },
    ),
    (
        f"{MIKE}/ListRecordsResponse.xml",
        "0704.0716",
        {
            "version": 4,
            "submitted": "2007-04-05",
            "updated": "2008-11-14",
            "authors": ["Christoph Richard"],
            "categories": ["math-ph", "math.MP"],
            "comments": "54 pages, 2 figures; v2 updated and slightly expanded; v3 changes in some proofs; "
            "v4 slightly expanded",
            "journal_ref": "Polygons, polyominoes and polycubes, 247-299, Lecture Notes in Phys., 775, Springer, "
            "Dordrecht, 2009",
        },
    ),
    (
        f"{MIKE}/ListRecordsResponse.xml",
        "0704.1109",
        {
            "version": 2,
            "authors": ["Valeria M. Rosa", "Patricio S. letelier"],
            "doi": "10.1007/s10773-009-0204-x",
            "journal_ref": "Int.J.Theor.Phys.49:316-323,2010",
        },
    ),
    (
        "more/arxiv_oai_GetRecord_arXivRaw_1304.4214.xml",
        "1304.4214",
        {
            "version": 1,
            "submitted": "2013-04-15",
            "updated": "2013-04-15",
            "authors": ["Igor A. Zaliznyak", "John M. Tranquada"],
            "categories": ["cond-mat.str-el"],
            "comments": '31 pages, chapter for "Strongly Correlated Systems: Experimental Techniques", '
            "edited by A. Avella and F. Mancini",
        },
    ),
    # arXiv: structured authors, ISO created/updated (updated = created when there is one version)
    (
        "more/arxiv_oai_GetRecord_arXiv_0804.2273.xml",
        "0804.2273",
        {
            "version": None,
            "submitted": "2008-04-14",
            "updated": "2008-04-14",
            "title": "Object Re-Use & Exchange: A Resource-Centric Approach",
            "authors": [
                "Carl Lagoze",
                "Herbert Van de Sompel",
                "Michael L. Nelson",
                "Simeon Warner",
                "Robert Sanderson",
                "Pete Johnston",
            ],
            "categories": ["cs.DL", "cs.NI"],
            "license": "http://creativecommons.org/licenses/by/3.0/",
        },
    ),
    (
        f"{HEP_F}/arxiv-single.xml",
        "1401.2122",
        {
            "submitted": "2014-01-09",
            "updated": "2017-10-23",
            "authors": ["A. Sergyeyev"],
            "categories": ["math.AP", "hep-th", "math-ph", "math.DG", "math.MP", "nlin.SI"],
            "journal_ref": "Lett. Math. Phys. 108 (2018), no. 2, 359-376",
            "doi": "10.1007/s11005-017-1013-4",
        },
    ),
    (
        f"{HEP_F}/arxiv-physics-hep-th.xml",
        "1412.8323",
        {
            "submitted": "2014-12-29",
            "updated": "2017-12-13",
            "authors": ["Philipp A Hoehn"],
            "categories": ["quant-ph", "gr-qc", "hep-th", "math-ph", "math.MP", "physics.hist-ph"],
            "license": "http://creativecommons.org/licenses/by/4.0/",
        },
    ),
    (
        f"{HEP_F}/arxiv-physics-hep-ex.xml",
        "1706.09418",
        {
            "authors": ["Daniel Dercks", "Herbi Dreiner", "Manuel E. Krauss", "Toby Opferkuch", "Annika Reinert"],
            "journal_ref": "Eur. Phys. J. C (2017) 77:856",
            "doi": "10.1140/epjc/s10052-017-5414-4",
        },
    ),
    (
        f"{HIVE}/oaipmh-listrecords---should-list-identifiers-from-arxiv__1.xml",
        "hep-th/9504118",
        {"submitted": "1995-04-24", "authors": ["M. Requardt"], "categories": ["hep-th"], "license": None},
    ),
    (
        f"{HIVE}/oaipmh-getrecord---should-get-a-record__0.xml",
        "1412.8544",
        {
            "authors": ["Sander Uijlen", "Bas Westerbaan"],  # affiliations are not part of the name
            "journal_ref": "EPTCS 172, 2014, pp. 154-164",
            "doi": "10.4204/EPTCS.172.11",
            "comments": "In Proceedings QPL 2014, arXiv:1412.8102",
        },
    ),
    # hepcrawl's edited records: no xmlns on <arXiv>, several DOIs with mixed separators, a suffix, separators
    (
        f"{HEP_U}/sample_arxiv_record0.xml",
        "1601.03238",
        {
            "authors": ["Planck Collaboration", "Jieci Wang", "Zehua Tian", "Jiliang Jing", "Heng Fan"],
            "categories": ["quant-ph", "gr-qc", "hep-th", "chao-dyn", "nlin.CD"],
            "doi": "10.1103/PhysRevD.93.016005",
            "journal_ref": "Phys.Rev. D93 (2015) 016005",
        },
    ),
    (
        f"{HEP_U}/sample_arxiv_record7.xml",
        "1606.07066",
        {"authors": ["Curtis J. Saxton Walton", "Ziri Younsi", "Kinwah Wu"]},
    ),
]


@pytest.mark.parametrize(("name", "paper_id", "expected"), FIELDS, ids=[f"{f[0]}:{f[1]}" for f in FIELDS])
def test_record_fields(name: str, paper_id: str, expected: dict[str, Any]) -> None:
    (paper,) = [p for p in papers(parse(name)) if p.id == paper_id]
    assert {k: getattr(paper, k) for k in expected} == expected


def test_abstract_paragraphs_and_entities() -> None:
    (single,) = papers(parse(f"{HEP_F}/arxiv-single.xml"))
    assert single.abstract == (
        "We introduce a novel systematic construction for integrable (3+1)-dimensional dispersionless systems "
        "using nonisospectral Lax pairs that involve contact vector fields.\n\nIn particular, we present new large "
        "classes of (3+1)-dimensional integrable dispersionless systems associated to the Lax pairs which are "
        "polynomial and rational in the spectral parameter."
    )
    first = papers(parse(f"{MIKE}/ListRecordsResponse.xml"))[0]
    assert 'extremely " stiff " and " soft " form' in first.abstract
    assert "\n" not in first.abstract


def test_suffix_and_separator_authors() -> None:
    (paper,) = papers(parse(f"{HEP_U}/sample_arxiv_record4.xml"))
    assert paper.authors[:4] == ["Keck Array", "BICEP2 Collaborations", "P. Ade", "Z. Ahmed"]
    assert ":" not in paper.authors  # the real record lists ":" between the collaborations and the members
    assert len(paper.authors) == 65
    assert "R. W. IV" in paper.authors


def test_hepcrawl_parsed_record_agrees() -> None:
    """hepcrawl's own expected parse of sample_arxiv_record10 as a cross-check."""
    expected = json.loads(load(f"{HEP_U}/sample_arxiv_record10_parsed.json"))[0]["results_data"][0]
    (paper,) = papers(parse(f"{HEP_U}/sample_arxiv_record10.xml"))
    (eprint,) = expected["arxiv_eprints"]
    assert paper.id == eprint["value"]
    assert paper.categories == eprint["categories"]
    assert paper.title == expected["titles"][0]["title"]
    assert paper.submitted == expected["preprint_date"]
    assert paper.license == expected["license"][0]["url"]
    assert paper.abstract == expected["abstracts"][0]["value"]
    assert paper.comments == " ".join(expected["public_notes"][0]["value"].split())
    # hepcrawl writes "Keyname, Forenames"; paperfeed writes names in reading order
    assert paper.authors == [" ".join(reversed(a["full_name"].split(", "))) for a in expected["authors"]]


# --- headers only, deletions, empty tokens -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "more/arxiv_oai_ListIdentifiers_2014.xml",
        f"{HIVE}/oaipmh-listidentifiers---should-list-identifiers-from-arxiv__0.xml",
        f"{HIVE}/oaipmh-identify---should-identify-arxiv__0.xml",
        f"{HIVE}/oaipmh-listsets---should-list-arxiv-sets__0.xml",
        f"{HIVE}/oaipmh-listmetadataformats---should-list-metadata-formats-for-arxiv__0.xml",
        f"{HIVE}/oaipmh-listmetadataformats---should-list-metadata-formats-for-arxiv-id-1208-0264__0.xml",
    ],
)
def test_pages_without_records(name: str) -> None:
    page = parse(name)
    assert page.items == [] and page.deleted == [] and page.resumption_token is None
    assert page.response_date is not None


def test_list_identifiers_deleted_header_and_empty_token() -> None:
    # Real second page of a (non-arXiv) repository: one status="deleted" header and the last page's empty token,
    # which still carries completeListSize and cursor.
    page = parse(
        f"{HIVE}/oaipmh-listidentifiers---should-list-identifiers-with-resumption-token-from-gulbenkian__1.xml"
    )
    assert page.items == []
    assert page.deleted == ["oai:arca.igc.gulbenkian.pt:10400.7/663"]
    assert (page.resumption_token, page.total, page.start) == (None, 154, 1)


def test_deleted_arxiv_record_in_list_records() -> None:
    body = load(f"{MIKE}/ListRecordsResponse.xml").decode()
    start = body.index("<record>", body.index("0704.0716") - 200)
    end = body.index("</record>", start) + len("</record>")
    deleted = (
        '<record><header status="deleted">\n <identifier>oai:arXiv.org:0704.0716</identifier>\n'
        " <datestamp>2015-01-02</datestamp>\n</header></record>"
    )
    page = parse_oai_page((body[:start] + deleted + body[end:]).encode())
    assert page.deleted == ["0704.0716"]
    assert [p.id for p in papers(page)] == ["0704.0471", "0704.0874", "0704.1109", "0704.1114", "0704.1586"]


def test_empty_resumption_token_ends_the_list() -> None:
    body = load(f"{MIKE}/ListRecordsResponse.xml").replace(
        b'<resumptionToken cursor="0" completeListSize="58011">726959|1001</resumptionToken>',
        b'<resumptionToken cursor="58000" completeListSize="58011"></resumptionToken>',
    )
    page = parse_oai_page(body)
    assert (page.resumption_token, page.start, page.total) == (None, 58000, 58011)
    assert len(page.items) == 6


# --- bad input ---------------------------------------------------------------------------------------------------


def test_record_without_title_is_rejected_and_parsing_continues() -> None:
    body = load(f"{MIKE}/ListRecordsResponse.xml")
    body = body.replace(b"<title>Limit distributions and scaling functions</title>", b"")
    page = parse_oai_page(body, where="page7")
    assert page.items[1] == Rejection("page7:0704.0716", "record has no title")
    assert [i.id for i in page.items if isinstance(i, Paper)] == [
        "0704.0471",
        "0704.0874",
        "0704.1109",
        "0704.1114",
        "0704.1586",
    ]


def test_arxiv_raw_versions_out_of_order() -> None:
    body = load(f"{MIKE}/GetRecordResponse.xml").decode()
    v1 = re.search(r'<version version="v1">.*?</version>', body)
    v2 = re.search(r'<version version="v2">.*?</version>', body)
    assert v1 and v2
    swapped = body.replace(v1.group(0) + v2.group(0), v2.group(0) + v1.group(0))
    assert swapped != body
    (paper,) = papers(parse_oai_page(swapped.encode()))
    assert (paper.version, paper.submitted, paper.updated) == (2, "2013-02-08", "2013-04-02")


def test_links_found_in_comments() -> None:
    body = load("more/arxiv_oai_GetRecord_arXiv_0804.2273.xml").replace(
        b"<acm-class>",
        b"<comments>Code: https://github.com/oreproject/ore. See http://www.openarchives.org/ore/</comments><acm-class>",
    )
    (paper,) = papers(parse_oai_page(body))
    assert paper.code_urls == ["https://github.com/oreproject/ore"]
    assert paper.project_urls == ["http://www.openarchives.org/ore/"]


@pytest.mark.parametrize(
    ("mangle", "line"),
    [
        (lambda b: b[: b.index(b"<categories>nucl-ex")], 16),  # a truncated download
        (lambda b: b.replace(b"<setSpec>math</setSpec>", b"<setSpec>math</setspec>", 1), 36),
        (lambda b: b"", 1),
    ],
    ids=["truncated", "mismatched-tag", "empty"],
)
def test_malformed_xml_raises_bad_input_with_line(mangle: Any, line: int) -> None:
    with pytest.raises(BadInput) as info:
        parse_oai_page(mangle(load(f"{MIKE}/ListRecordsResponse.xml")), where="oai-page-3")
    assert info.value.where == f"oai-page-3:{line}"


def test_html_503_body_is_not_oai() -> None:
    with pytest.raises(BadInput) as info:
        parse_oai_page(load(f"{HIVE}/oaipmh-listrecords---should-list-identifiers-from-arxiv__0.txt"), where="x")
    assert info.value.where == "x:1"


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("ErrorResponseBadArgument.xml", "badArgument", "Verb 'ListRecords', illegal argument 'identifier'."),
        ("ErrorResponseBadResumptionToken.xml", "badResumptionToken", "The resumptionToken supplied is illegal"),
        ("ErrorResponseBadVerb.xml", "badVerb", "Bad verb. Verb 'wah' not implemented."),
        ("ErrorResponseIdDoesNotExist.xml", "idDoesNotExist", "Identifier 'oai:arXiv.org:0813.2274' has correct"),
    ],
)
def test_oai_errors(name: str, code: str, message: str) -> None:
    with pytest.raises(OaiError) as info:
        parse(f"{MIKE}/{name}")
    assert isinstance(info.value, SourceError)
    assert info.value.code == code
    assert info.value.message.startswith(message)


@pytest.mark.parametrize("code", ["cannotDisseminateFormat", "noMetadataFormats", "noSetHierarchy"])
def test_other_oai_error_codes(code: str) -> None:
    body = load(f"{MIKE}/ErrorResponseBadArgument.xml").replace(b'code="badArgument"', f'code="{code}"'.encode())
    with pytest.raises(OaiError) as info:
        parse_oai_page(body)
    assert info.value.code == code


def test_no_records_match_is_an_empty_page() -> None:
    page = parse(f"{MIKE}/ErrorResponseNoRecordsMatch.xml")
    assert page == ParsedPage(response_date="2015-06-23T13:28:30Z")
