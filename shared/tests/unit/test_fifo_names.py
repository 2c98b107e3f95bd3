from taskoverflow_shared.topology import fifo_name, is_fifo


def test_a_fifo_topic_or_queue_is_known_by_its_suffix_in_a_name_url_or_arn():
    assert is_fifo(fifo_name("todo-events"))
    assert is_fifo("https://sqs.us-east-1.amazonaws.com/000000000000/notifier-dlq.fifo")
    assert is_fifo("arn:aws:sns:us-east-1:000000000000:todo-events.fifo")
    assert not is_fifo("https://sqs.us-east-1.amazonaws.com/000000000000/notifier")
    assert not is_fifo("fifo-events")
