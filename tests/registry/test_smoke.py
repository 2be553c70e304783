from tests.support.gallery import Gallery, make_package, new_asset, publish


def test_publish_and_download(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    asset = new_asset(alice, title="Digits <b>classifier</b>", tags=["vision"])
    package = make_package()
    answer = publish(alice, asset["content_id"], {"description": "first"}, package)
    assert answer.status_code == 201, answer.text
    assert answer.json()["version"] == "1.0.0"
    second = publish(alice, asset["content_id"], {}, package)
    assert second.json()["version"] == "1.0.1"
    download = alice.get(f"/assets/{asset['content_id']}/versions/1.0.0/package")
    assert download.status_code == 200
    assert download.content == package
    import hashlib

    assert download.headers["x-content-sha256"] == hashlib.sha256(package).hexdigest()
    found = alice.get("/assets", params={"q": "classifier"}).json()
    assert asset["content_id"] in [i["content_id"] for i in found["items"]]
