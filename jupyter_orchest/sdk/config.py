"""``orchest.Config``, kept so that steps written for Orchest run unchanged."""


class Config:
    """Settings of Orchest's SDK that steps may set.

    Orchest warned when a step output data or called ``get_inputs`` more than once, because
    its outputs replaced each other and its memory store evicted data once read. Neither
    happens here, so no warning is printed and this setting only needs to exist.
    """

    silence_multiple_data_transfer_calls_warning: bool = False
