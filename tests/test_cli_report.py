"""minicnn.report: the report.html writer of ``minicnn demo``, and the CLI's helpers."""

import pytest

from minicnn import cli, metrics
from minicnn.report import Report


def test_report_page(tmp_path):
    report = Report("Digits & <friends>", "An intro.")
    report.section("Curves").figure("curves.png", "Loss per epoch.")
    report.facts({"test accuracy": "0.9800"})
    report.missing("Grad-CAM", "Not built yet.")
    path = report.write(tmp_path / "out" / "report.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<title>Digits &amp; &lt;friends&gt;</title>" in page  # text is escaped
    assert '<img src="curves.png" alt="curves">' in page
    assert "<figcaption>Loss per epoch.</figcaption>" in page
    assert "<dt>test accuracy</dt><dd>0.9800</dd>" in page
    assert '<p class="missing">Not built yet.</p>' in page
    assert "<script" not in page and "http" not in page


def test_classification_report_table():
    table = metrics.classification_report(
        [0, 1, 1, 2], [0, 1, 2, 2], ["a", "b", "c"], output_dict=True
    )
    page = Report("t").classification_report(table).html()
    assert "<tr><td>b</td><td>1.000</td><td>0.500</td><td>0.667</td><td>2</td></tr>" in page
    assert (
        '<tr class="total"><td>accuracy</td><td></td><td></td><td>0.750</td><td>4</td></tr>' in page
    )
    assert (
        "<tr><td>weighted avg</td><td>0.875</td><td>0.750</td><td>0.750</td><td>4</td></tr>" in page
    )


def test_model_names_and_building():
    names = cli.model_names()
    assert names[:4] == ["lenet5", "vgg_small", "resnet_small", "googlenet_mini"]
    assert "resnet18" in names and "unet" not in names  # unet segments, it does not classify
    model = cli.build_model("lenet5", 3, 2)
    assert model.classifier[-1].out_features == 3 and model.features[0].in_channels == 2
    with pytest.raises(cli.UsageError, match="unknown model 'lenet6'"):
        cli.build_model("lenet6", 10, 1)


@pytest.mark.parametrize(("text", "shape"), [("1,28,28", (1, 28, 28)), ("3, 32, 32", (3, 32, 32))])
def test_parse_shape(text, shape):
    assert cli.parse_shape(text) == shape


@pytest.mark.parametrize("text", ["1,28", "a,b,c", "0,28,28", "1,28,28,1"])
def test_parse_shape_rejects(text):
    with pytest.raises(cli.UsageError, match="--input must be C,H,W"):
        cli.parse_shape(text)
