"""Calendar feed tokens: unguessable, URL-safe, and stored as a digest that finds them again."""

import hashlib

from todo_api.domain.feed_tokens import looks_like_a_token, new_feed_token, token_digest


def test_a_token_carries_256_bits_in_url_safe_characters_and_is_never_repeated():
    tokens = {new_feed_token() for _ in range(1000)}

    assert len(tokens) == 1000
    assert all(looks_like_a_token(token) for token in tokens)
    assert all(len(token) * 6 >= 256 for token in tokens)


def test_what_is_stored_is_the_sha256_of_the_token():
    token = new_feed_token()

    assert token_digest(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token not in token_digest(token)


def test_text_that_cannot_be_a_token_is_not_looked_up():
    for text in ("", "short", "x" * 44, "a/" + "b" * 41, "é" * 43, "../../feeds/shared/state.json"):
        assert not looks_like_a_token(text), text
